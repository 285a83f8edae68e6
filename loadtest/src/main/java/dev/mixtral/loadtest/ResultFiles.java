package dev.mixtral.loadtest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code --json} (the summary) and {@code --jsonl} (one line per request). */
final class ResultFiles {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper LINES = new ObjectMapper();

    private ResultFiles() {}

    static void writeJson(Path file, Map<String, Object> document) {
        try {
            createParent(file);
            JSON.writeValue(file.toFile(), document);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static void writeJsonl(Path file, List<RunSummary> runs) {
        try {
            createParent(file);
            try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                for (RunSummary run : runs) {
                    for (RequestRecord r : run.result.records()) {
                        out.write(LINES.writeValueAsString(line(run.result.phase().name(), r)));
                        out.newLine();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static Map<String, Object> line(String phase, RequestRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("phase", phase);
        m.put("index", r.index());
        m.put("intended_start_ms", r.intendedNanos() / 1e6);
        m.put("send_ms", r.sendNanos() / 1e6);
        m.put("schedule_lag_ms", r.scheduleLagNanos() / 1e6);
        m.put("concurrency_wait_ms", r.slotWaitNanos() / 1e6);
        m.put("ok", r.ok());
        m.put("ttft_ms", r.chunks() > 0 ? r.ttftNanos() / 1e6 : null);
        double tpot = r.tpotNanos();
        m.put("tpot_ms", r.ok() && !Double.isNaN(tpot) ? tpot / 1e6 : null);
        m.put("e2el_ms", r.e2elNanos() / 1e6);
        m.put("ttft_from_intended_ms", r.chunks() > 0 ? r.ttftFromIntendedNanos() / 1e6 : null);
        m.put("e2el_from_intended_ms", r.e2elFromIntendedNanos() / 1e6);
        List<Double> itl = new ArrayList<>();
        long[] c = r.chunkNanos();
        for (int i = 1; i < c.length; i++) itl.add((c[i] - c[i - 1]) / 1e6);
        m.put("itl_ms", itl);
        m.put("output_tokens", r.outputTokens());
        m.put("usage_completion_tokens", r.usageOutputTokens() >= 0 ? r.usageOutputTokens() : null);
        m.put("content_chunks", r.chunks());
        m.put("input_tokens", r.inputTokens());
        m.put("max_tokens", r.maxTokens());
        m.put("error", r.error() != null ? r.error().key() : null);
        m.put("http_status", r.httpStatus() != 0 ? r.httpStatus() : null);
        m.put("error_message", r.errorMessage());
        return m;
    }

    static void createParent(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
    }
}
