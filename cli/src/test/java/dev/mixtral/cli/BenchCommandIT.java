package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bench} through a 2-node loopback cluster with the in-process baseline: the JSON carries every
 * figure the README quotes (no timing is asserted, only that each was measured).
 */
class BenchCommandIT {
    @Test
    void clusterBenchReportsItsFiguresAndTheirRatiosToTheInProcessBaseline(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        CliTest.Result r = CliTest.run("bench", "--model", ClusterSupport.Q8.toString(), "--nodes", "2", "--in-process-baseline",
                "--batch", "1,4", "--prompt-len", "8", "--gen-len", "4", "--warmup", "2", "--warmup-seconds", "0", "--node-warmup-calls", "20",
                // the nodes start while the coordinator waits: on a shared 2-core host that can take minutes
                "--wait-timeout", ClusterSupport.WAIT.toSeconds() + "s", "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = CliTest.JSON.readTree(json.toFile());
        assertThat(j.get("nodes").asInt()).isEqualTo(2);
        assertThat(j.get("preferred_vector_bits").asInt()).as("the CPU's vector width, as the JIT sees it").isIn(128, 256, 512);
        assertThat(j.get("kernel_vector_bits").asInt()).as("the kernels' width: the JIT's, up to 256 by default").isIn(128, 256)
                .isEqualTo(Math.min(256, j.get("preferred_vector_bits").asInt()));
        assertThat(j.get("kernel_vector_bits_by_type").asText()).as("each type's width")
                .contains(j.get("kernel_vector_bits").asInt() + " bits: ").contains("Q8_0");
        for (String field : new String[] {"prefill_tokens_per_s", "weight_bytes_per_token", "bandwidth_bytes_per_s", "roofline_fraction",
                "prefill_vs_in_process"}) {
            assertThat(j.get(field).asDouble()).as(field).isPositive();
        }
        // three timed prefills by default, the median reported
        double[] runs = new double[j.get("prefill_runs_tokens_per_s").size()];
        for (int i = 0; i < runs.length; i++) runs[i] = j.get("prefill_runs_tokens_per_s").get(i).asDouble();
        assertThat(runs).hasSize(3);
        for (double v : runs) assertThat(v).as("a prefill run").isPositive();
        java.util.Arrays.sort(runs);
        assertThat(j.get("prefill_tokens_per_s").asDouble()).as("the median run").isEqualTo(runs[1]);
        assertThat(r.out()).contains("median of 3 runs");
        for (String batch : new String[] {"1", "4"}) {
            assertThat(j.at("/decode_tokens_per_s/" + batch).asDouble()).as("decode " + batch).isPositive();
            // three timed decodes per batch size by default, the median reported; with no time floor, one round of warm-up
            double[] decodeRuns = new double[j.at("/decode_runs_tokens_per_s/" + batch).size()];
            for (int i = 0; i < decodeRuns.length; i++) decodeRuns[i] = j.at("/decode_runs_tokens_per_s/" + batch).get(i).asDouble();
            assertThat(decodeRuns).hasSize(3);
            java.util.Arrays.sort(decodeRuns);
            assertThat(j.at("/decode_tokens_per_s/" + batch).asDouble()).as("the median decode run").isEqualTo(decodeRuns[1]);
            assertThat(j.at("/warmup_steps/" + batch).asInt()).isEqualTo(2);
            assertThat(j.at("/in_process/decode_tokens_per_s/" + batch).asDouble()).as("in-process decode " + batch).isPositive();
            // the baseline's runs alternate with the cluster's: each cluster run over its partner, the median quoted
            JsonNode clusterRuns = j.at("/decode_runs_tokens_per_s/" + batch), baseRuns = j.at("/in_process/decode_runs_tokens_per_s/" + batch);
            JsonNode pairs = j.at("/decode_vs_in_process_pairs/" + batch);
            assertThat(baseRuns).hasSize(3);
            assertThat(pairs).hasSize(3);
            double[] sortedPairs = new double[3];
            for (int i = 0; i < 3; i++) {
                sortedPairs[i] = pairs.get(i).asDouble();
                assertThat(sortedPairs[i]).as("pair %d of batch %s", i, batch).isEqualTo(clusterRuns.get(i).asDouble() / baseRuns.get(i).asDouble());
            }
            java.util.Arrays.sort(sortedPairs);
            assertThat(j.at("/decode_vs_in_process/" + batch).asDouble()).as("ratio " + batch).isEqualTo(sortedPairs[1]);
        }
        assertThat(j.at("/prefill_vs_in_process_pairs")).hasSize(3);
        // batch 4's rounds against batch 1's of the same round (the sizes alternate within each round)
        JsonNode vsBatch1 = j.at("/decode_vs_batch_1_rounds/4");
        assertThat(vsBatch1).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(vsBatch1.get(i).asDouble()).as("round %d", i)
                    .isEqualTo(j.at("/decode_runs_tokens_per_s/4").get(i).asDouble() / j.at("/decode_runs_tokens_per_s/1").get(i).asDouble());
        }
        assertThat(j.at("/decode_vs_batch_1_rounds/1").isMissingNode()).isTrue();
        assertThat(r.out()).containsPattern("decode batch 4 +[0-9.]+ tokens/s  \\([0-9.]+× batch 1, rounds [0-9.]+–[0-9.]+×\\)");
        assertThat(j.at("/rss_bytes/coordinator").asLong()).isPositive();
        assertThat(j.at("/rss_bytes/node-0").asLong()).isPositive();
        assertThat(j.at("/rss_bytes/node-1").asLong()).isPositive();
        assertThat(j.at("/fan_out/layer_calls").asLong()).isPositive();
        assertThat(r.out()).contains("in process (this run, alternating) decode batch 1 ").contains("→ cluster").contains("median of 3 pairs");
    }

    /** Decoding deep into a context: each sequence first prefills its prompt in chunks (40 tokens, chunks of 16). */
    @Test
    void decodesAfterALongPromptWhenAsked(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        CliTest.Result r = CliTest.run("bench", "--model", ClusterSupport.Q8.toString(), "--batch", "1,2", "--decode-context", "40", "--prefill-chunk", "16",
                "--prompt-len", "8", "--gen-len", "3", "--warmup", "1", "--warmup-seconds", "0.3", "--decode-runs", "1", "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = CliTest.JSON.readTree(json.toFile());
        assertThat(j.get("decode_context").asInt()).isEqualTo(40);
        assertThat(j.at("/decode_tokens_per_s/2").asDouble()).isPositive();
        assertThat(r.out()).contains("decode context   40 tokens");
        // at least --warmup rounds (the time bound may add more)
        assertThat(j.at("/warmup_steps/1").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(j.at("/decode_runs_tokens_per_s/2")).hasSize(1);
        // the roofline's bandwidth is the mean of two measurements, right before and right after the timed runs
        double before = j.at("/bandwidth_before_after_bytes_per_s/0").asDouble(), after = j.at("/bandwidth_before_after_bytes_per_s/1").asDouble();
        assertThat(before).isPositive();
        assertThat(after).isPositive();
        assertThat(j.get("bandwidth_bytes_per_s").asDouble()).isEqualTo((before + after) / 2);

        CliTest.Result bad = CliTest.run("bench", "--decode-context", "0");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).contains("--decode-context must be >= 1, got 0");
        CliTest.Result noRuns = CliTest.run("bench", "--prefill-runs", "0");
        assertThat(noRuns.exit()).isNotZero();
        assertThat(noRuns.err()).contains("--prefill-runs must be >= 1, got 0");
        CliTest.Result noDecodeRuns = CliTest.run("bench", "--decode-runs", "0");
        assertThat(noDecodeRuns.exit()).isNotZero();
        assertThat(noDecodeRuns.err()).contains("--decode-runs must be >= 1, got 0");
        CliTest.Result negativeWarmup = CliTest.run("bench", "--warmup-seconds", "-1");
        assertThat(negativeWarmup.exit()).isNotZero();
        assertThat(negativeWarmup.err()).contains("--warmup-seconds must be >= 0, got -1.0");
    }

    /**
     * {@code --llama-bench}: llama.cpp cannot be built on the CI machines (no network beyond Maven Central), so a
     * script stands in for the binary: it records the arguments it was given and replays a real llama-bench output.
     */
    @Test
    void reportsRatiosToLlamaBenchRunOnTheSameFile(@TempDir Path dir) throws Exception {
        Path recorded = Files.writeString(dir.resolve("recorded.json"), LlamaCppBenchTest.recordedOutput());
        Path args = dir.resolve("args");
        Path script = executable(dir.resolve("llama-bench"), "#!/bin/sh\necho \"$@\" > " + args + "\ncat " + recorded + "\n");
        Path json = dir.resolve("bench.json");
        CliTest.Result r = CliTest.run("bench", "--model", ClusterSupport.Q8.toString(), "--batch", "1", "--threads", "1", "--prompt-len", "8",
                "--gen-len", "4", "--warmup", "1", "--warmup-seconds", "0", "--prefill-runs", "1", "--llama-bench", script.toString(), "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readString(args).strip()).isEqualTo("-m " + ClusterSupport.Q8 + " -t 1 -p 8 -n 4 -r 3 -o json");
        JsonNode j = CliTest.JSON.readTree(json.toFile());
        assertThat(j.at("/llama_cpp/prefill_tokens_per_s").asDouble()).isEqualTo(74.260066);
        assertThat(j.at("/llama_cpp/decode_tokens_per_s/1").asDouble()).isEqualTo(17.440103);
        assertThat(j.at("/llama_cpp/cpu").asText()).isEqualTo("AMD EPYC");
        assertThat(j.get("prefill_vs_llama_cpp").asDouble()).isEqualTo(j.get("prefill_tokens_per_s").asDouble() / 74.260066);
        assertThat(j.at("/decode_vs_llama_cpp/1").asDouble()).isEqualTo(j.at("/decode_tokens_per_s/1").asDouble() / 17.440103);
        assertThat(j.at("/llama_cpp/roofline_fraction").asDouble())
                .isEqualTo(17.440103 * j.get("weight_bytes_per_token").asDouble() / j.get("bandwidth_bytes_per_s").asDouble());
        assertThat(r.out()).contains("llama.cpp (this run, build unknown) prefill 74.3 tokens/s → ours ")
                .contains("llama.cpp (this run) decode batch 1   17.4 tokens/s, roofline fraction");

        Path failing = executable(dir.resolve("failing-llama-bench"), "#!/bin/sh\necho 'llama_model_load: error loading model' >&2\nexit 3\n");
        CliTest.Result bad = CliTest.run("bench", "--model", ClusterSupport.Q8.toString(), "--batch", "1", "--threads", "1", "--prompt-len", "8",
                "--gen-len", "2", "--warmup", "1", "--warmup-seconds", "0", "--prefill-runs", "1", "--llama-bench", failing.toString());
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).contains("llama-bench exited with status 3 on " + ClusterSupport.Q8).contains("error loading model");
    }

    private static Path executable(Path file, String script) throws Exception {
        Files.writeString(file, script);
        assertThat(file.toFile().setExecutable(true)).isTrue();
        return file;
    }
}
