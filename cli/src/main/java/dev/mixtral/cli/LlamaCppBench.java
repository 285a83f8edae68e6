package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs llama.cpp's {@code llama-bench} on the same file, threads, prompt length and decode steps as a
 * {@code bench} run, so our figures can be given as ratios to llama.cpp measured on the same machine in the
 * same session. The machines here are shared and their speed varies by ±30% from hour to hour; a ratio to a
 * neighbour measured minutes apart does not. llama-bench's decode ("tg") is one sequence: batch 1.
 *
 * <p>It is run with {@code -o json}; of its records, the one with {@code n_prompt > 0, n_gen = 0} is the
 * prefill and the one with {@code n_prompt = 0, n_gen > 0} the decode, each with {@code avg_ts} (tokens/s,
 * the mean of {@code -r} repetitions).
 */
record LlamaCppBench(String build, String cpu, double prefillTokensPerSecond, double decodeTokensPerSecond, String kvCache) {
    static final int REPETITIONS = 3;

    /**
     * The arguments for one llama-bench run: our threads, prompt length and decode steps. The KV cache stays
     * llama.cpp's default, f16 (llama-bench offers no f32 cache); at a benchmark's short contexts the cache is
     * a small part of the work either way.
     */
    static List<String> command(Path llamaBench, Path model, int threads, int promptLen, int genLen) {
        return List.of(llamaBench.toString(), "-m", model.toString(), "-t", Integer.toString(threads),
                "-p", Integer.toString(promptLen), "-n", Integer.toString(genLen), "-r", Integer.toString(REPETITIONS), "-o", "json");
    }

    /** Fails with a clear message if llama-bench cannot be run on this model at all. */
    static void check(Path llamaBench, Path model) {
        if (!Files.isRegularFile(llamaBench) || !Files.isExecutable(llamaBench)) {
            throw new UserException("--llama-bench " + llamaBench + ": no executable file there (give the path of llama.cpp's llama-bench binary)");
        }
        if (Files.isDirectory(model)) {
            throw new UserException("--llama-bench needs a .gguf model: llama.cpp cannot read the Hugging Face checkpoint directory " + model);
        }
    }

    static LlamaCppBench run(Path llamaBench, Path model, int threads, int promptLen, int genLen) throws IOException {
        check(llamaBench, model);
        Path out = Files.createTempFile("llama-bench", ".json"), err = Files.createTempFile("llama-bench", ".log");
        try {
            Process p = new ProcessBuilder(command(llamaBench, model, threads, promptLen, genLen))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            int exit;
            try {
                exit = p.waitFor();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while llama-bench ran", e);
            }
            if (exit != 0) {
                throw new UserException("llama-bench exited with status " + exit + " on " + model + ":\n" + tail(err, 10));
            }
            return parse(Files.readString(out), model);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The prefill and decode records of llama-bench's JSON output. */
    static LlamaCppBench parse(String json, Path model) {
        JsonNode records;
        try {
            records = Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UserException("llama-bench's output on " + model + " is not JSON: " + e.getMessage());
        }
        JsonNode prefill = null, decode = null;
        for (JsonNode r : records) {
            if (r.path("n_prompt").asInt() > 0 && r.path("n_gen").asInt() == 0) prefill = r;
            if (r.path("n_prompt").asInt() == 0 && r.path("n_gen").asInt() > 0) decode = r;
        }
        if (prefill == null || decode == null) {
            throw new UserException("llama-bench's output on " + model + " lacks a " + (prefill == null ? "prefill (n_prompt > 0, n_gen = 0)"
                    : "decode (n_prompt = 0, n_gen > 0)") + " record");
        }
        String commit = prefill.path("build_commit").asText("unknown");
        String build = commit.equals("unknown") ? "build unknown" : "build " + prefill.path("build_number").asText("?") + ", " + commit;
        return new LlamaCppBench(build, prefill.path("cpu_info").asText(""), prefill.path("avg_ts").asDouble(),
                decode.path("avg_ts").asDouble(), prefill.path("type_k").asText(""));
    }

    private static String tail(Path file, int lines) throws IOException {
        List<String> all = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }
}
