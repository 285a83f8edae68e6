package dev.mixtral.loadtest;

import java.io.IOException;
import java.util.SplittableRandom;

/**
 * The mock behind {@code --mock-server}: a server with room for 4 requests at a time (so sweeps saturate),
 * TTFT 40–120 ms, a chunk every 15 ms, and made-up Prometheus metrics in this project's names, including a
 * skewed per-expert load, so every part of the report can be seen without a cluster.
 */
final class DemoMock {
    private DemoMock() {}

    static MockLlmServer start() throws IOException {
        MockLlmServer mock = MockLlmServer.start(MockLlmServer.Behavior.steady(40, 120, 15).capacity(4));
        mock.metrics(() -> metrics(mock));
        return mock;
    }

    private static String metrics(MockLlmServer mock) {
        var served = mock.served();
        long tokens = served.stream().mapToLong(MockLlmServer.Served::tokens).sum();
        StringBuilder sb = new StringBuilder();
        SplittableRandom skew = new SplittableRandom(42);
        for (int l = 0; l < 4; l++) {
            for (int e = 0; e < 8; e++) {
                double share = (1 + skew.nextDouble() * (e == l ? 3 : 1)) / 12; // expert l is hot in layer l
                sb.append("mixtral_expert_tokens_total{layer=\"").append(l).append("\",expert=\"").append(e).append("\"} ").append(Math.round(tokens * 2 * share)).append('\n');
            }
        }
        sb.append("mixtral_generation_tokens_total ").append(tokens).append('\n');
        sb.append("mixtral_requests_running ").append(Math.min(4, served.size() % 5)).append('\n');
        sb.append("mixtral_kv_cache_usage_ratio ").append(0.1 * (served.size() % 5)).append('\n');
        return sb.toString();
    }
}
