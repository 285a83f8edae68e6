package dev.mixtral.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** A sweep against a mock with a known capacity: 2 requests at a time, 100 ms each, so it saturates at 20 req/s. */
class SweepTest {

    @Test
    void aSweepFindsTheIdleRateTheSaturationRateAndTheHighestRateMeetingTheSlo(@TempDir Path dir) throws Exception {
        // 50 ms to the first token, then 5 chunks 10 ms apart: about 100 ms per request
        try (MockLlmServer mock = MockLlmServer.start(MockLlmServer.Behavior.steady(50, 50, 10).capacity(2))) {
            JsonNode s = LoadTestAccuracyTest.run(dir, "--url", mock.url(), "--sweep", "--sweep-rates", "3", "--num-prompts", "30",
                    "--output-len", "6", "--slo", "ttft=250", "--slo-refine", "1", "--warmup", "0", "--max-schedule-lag", "1000");
            JsonNode steps = s.get("benchmarks");
            assertThat(steps.size()).isBetween(2 + 3, 2 + 3 + 1); // the bisection runs when a rate above the best missed
            assertThat(steps.get(0).get("step").asText()).isEqualTo("synchronous");
            assertThat(steps.get(0).get("max_concurrent_requests").asInt()).isEqualTo(1);
            double sync = s.get("synchronous_request_rate").asDouble();
            double saturation = s.get("saturation_request_rate").asDouble();
            assertThat(sync).isBetween(4.0, 10.5);            // one at a time: ≤ 1 / 100 ms (less when the machine is loaded)
            assertThat(saturation).isBetween(9.0, 21.0).isGreaterThan(sync * 1.4); // two at a time: ≤ 2 / 100 ms
            assertThat(steps.get(1).get("max_concurrent_requests").asInt()).isGreaterThan(2); // the client offered more than the server took
            assertThat(steps.get(1).get("p99_ttft_ms").asDouble()).isGreaterThan(300);  // 30 queued behind 2 slots
            for (int i = 2; i < 5; i++) {
                double rate = steps.get(i).get("request_rate").asDouble();
                assertThat(rate).isStrictlyBetween(sync, saturation);
                assertThat(steps.get(i).get("scheduled_request_rate").asDouble()).isCloseTo(rate, org.assertj.core.api.Assertions.within(0.01 * rate));
            }
            Double best = s.get("max_rate_meeting_slo").isNull() ? null : s.get("max_rate_meeting_slo").asDouble();
            assertThat(best).as("the synchronous rate meets a 250 ms TTFT").isNotNull();
            assertThat(best).isGreaterThanOrEqualTo(sync * 0.999).isLessThan(saturation);
            for (JsonNode step : steps) {
                boolean within = step.get("p99_ttft_ms").asDouble() <= 250 && step.get("valid").asBoolean() && !step.get("saturated").asBoolean();
                assertThat(step.get("meets_slo").asBoolean()).as(step.get("step").asText()).isEqualTo(within);
            }
        }
    }
}
