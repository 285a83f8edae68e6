package dev.mixtral.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** --metrics-url against a mock exporting this project's metric names, and --html as one offline file. */
class ServerMetricsAndHtmlTest {

    /** Layer l, expert e has received (e + 1) tokens per request served so far: balancedness 4.5/8 in every layer. */
    private static String metrics(MockLlmServer mock) {
        long served = mock.served().size();
        StringBuilder sb = new StringBuilder("# HELP mixtral_expert_tokens_total Tokens routed\n# TYPE mixtral_expert_tokens_total counter\n");
        for (int l = 0; l < 4; l++) {
            for (int e = 0; e < 8; e++) sb.append("mixtral_expert_tokens_total{layer=\"").append(l).append("\",expert=\"").append(e).append("\"} ").append(served * (e + 1)).append(".0\n");
        }
        sb.append("mixtral_expert_balancedness 0.5625\n");
        sb.append("mixtral_requests_waiting ").append(served % 3).append("\n");
        sb.append("mixtral_kv_cache_usage_ratio 0.25\n");
        sb.append("mixtral_generation_tokens_total ").append(served * 5).append(".0\n");
        // every request's TTFT falls in (0.025, 0.05]
        sb.append("mixtral_time_to_first_token_seconds_bucket{le=\"0.025\"} 0\n");
        sb.append("mixtral_time_to_first_token_seconds_bucket{le=\"0.05\"} ").append(served).append("\n");
        sb.append("mixtral_time_to_first_token_seconds_bucket{le=\"+Inf\"} ").append(served).append("\n");
        sb.append("mixtral_time_to_first_token_seconds_count ").append(served).append("\n");
        sb.append("mixtral_time_to_first_token_seconds_sum ").append(served * 0.04).append("\n");
        return sb.toString();
    }

    @Test
    void serverMetricsAreScrapedAndTheReportIsOneOfflineFile(@TempDir Path dir) throws Exception {
        try (MockLlmServer mock = MockLlmServer.start(MockLlmServer.Behavior.steady(30, 40, 5))) {
            mock.metrics(() -> metrics(mock));
            Path html = dir.resolve("report.html");
            JsonNode s = LoadTestAccuracyTest.run(dir, "--url", mock.url(), "--rate", "20", "--num-prompts", "30", "--output-len", "5",
                    "--warmup", "0", "--metrics-url", mock.url() + "/metrics", "--metrics-interval", "200ms", "--html", html.toString());
            JsonNode server = s.get("server");
            JsonNode endpoint = server.get("endpoints").get(0);
            assertThat(endpoint.get("kind").asText()).isEqualTo("coordinator");
            assertThat(endpoint.get("generation_tokens").asDouble()).isEqualTo(30 * 5); // the before scrape saw 0 served
            assertThat(endpoint.get("ttft").get("count").asDouble()).isEqualTo(30);
            assertThat(endpoint.get("ttft").get("mean_ms").asDouble()).isCloseTo(40, within(1e-6));
            assertThat(endpoint.get("ttft").get("p50_ms").asDouble()).isCloseTo(37.5, within(1e-6)); // half-way through (25, 50]
            assertThat(endpoint.get("max_kv_cache_usage").asDouble()).isEqualTo(0.25);
            assertThat(endpoint.get("timeseries").get("t").size()).isGreaterThanOrEqualTo(3); // before, during, after
            JsonNode load = server.get("expert_load");
            assertThat(load.get("layers").asInt()).isEqualTo(4);
            assertThat(load.get("experts").asInt()).isEqualTo(8);
            for (int e = 0; e < 8; e++) assertThat(load.get("tokens").get(2).get(e).asDouble()).isEqualTo(30.0 * (e + 1));
            assertThat(server.get("expert_balancedness").asDouble()).isCloseTo(4.5 / 8, within(1e-9));
            assertThat(endpoint.get("mean_expert_balancedness_gauge").asDouble()).isCloseTo(0.5625, within(1e-9));

            String page = Files.readString(html);
            assertThat(page).contains("uPlot").contains("\"expert_load\"").contains("Load test report");
            // nothing is fetched: no external script, stylesheet or image
            assertThat(Pattern.compile("(src|href)\\s*=\\s*[\"']?https?:", Pattern.CASE_INSENSITIVE).matcher(page).find()).isFalse();
            assertThat(page).doesNotContain("<script src");
            assertThat(page).doesNotContain("/*DATA*/").doesNotContain("/*UPLOT_JS*/");
        }
    }

    @Test
    void endpointsWithoutExpertMetricsAreReportedWithoutThem(@TempDir Path dir) throws Exception {
        try (MockLlmServer mock = MockLlmServer.start(MockLlmServer.Behavior.steady(5, 5, 1))) {
            mock.metrics(() -> "vllm:num_requests_waiting 2\nvllm:generation_tokens_total " + mock.served().size() * 3 + "\n");
            JsonNode s = LoadTestAccuracyTest.run(dir, "--url", mock.url(), "--concurrency", "2", "--num-prompts", "6", "--output-len", "3",
                    "--warmup", "0", "--metrics-url", mock.url() + "/metrics,http://127.0.0.1:1/metrics");
            JsonNode server = s.get("server");
            assertThat(server.has("expert_load")).isFalse();
            assertThat(server.get("endpoints").get(0).get("kind").asText()).isEqualTo("vllm");
            assertThat(server.get("endpoints").get(0).get("generation_tokens").asDouble()).isEqualTo(18);
            assertThat(server.get("scrape_failures").size()).isGreaterThanOrEqualTo(2); // the dead URL, before and after
            assertThat(s.get("completed").asInt()).isEqualTo(6); // a dead metrics URL costs the run nothing
        }
    }

    @Test
    void prometheusTextIsParsedWithLabelsEscapesAndSpecialValues() {
        List<PrometheusText.Sample> samples = PrometheusText.parse("""
                # HELP x help
                a_total 3
                b{node="127.0.0.1:5",outcome="ok"} 1.5e3 1700000000
                c{path="a\\"b\\\\c"} +Inf
                garbage line without value {
                d NaN
                """);
        assertThat(samples).hasSize(4);
        assertThat(samples.get(1).label("node")).isEqualTo("127.0.0.1:5");
        assertThat(samples.get(1).value()).isEqualTo(1500);
        assertThat(samples.get(2).label("path")).isEqualTo("a\"b\\c");
        assertThat(samples.get(2).value()).isInfinite();
        assertThat(samples.get(3).value()).isNaN();
        TreeMap<Double, Double> buckets = new TreeMap<>();
        buckets.put(0.1, 10.0);
        buckets.put(0.2, 90.0);
        buckets.put(Double.POSITIVE_INFINITY, 100.0);
        assertThat(ServerView.quantile(buckets, 0.5)).isCloseTo(0.15, within(1e-12));
        assertThat(ServerView.quantile(buckets, 0.95)).isEqualTo(0.2); // in +Inf: the last finite bound
        assertThat(ServerView.balancedness(new double[] {1, 1, 1, 1})).isEqualTo(1);
        assertThat(ServerView.balancedness(new double[] {4, 0, 0, 0})).isEqualTo(0.25);
    }
}
