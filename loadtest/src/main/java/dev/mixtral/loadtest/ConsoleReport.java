package dev.mixtral.loadtest;

import java.io.PrintStream;
import java.util.Map;

/** The summary table on the console, laid out like vLLM's, then the figures vLLM does not have. */
final class ConsoleReport {
    private ConsoleReport() {}

    static void print(RunSummary s, PrintStream out) {
        Map<String, Object> m = s.toMap();
        out.println(center(" Serving Benchmark Result: " + s.result.phase().name() + " ", '='));
        row(out, "Successful requests:", m.get("completed"));
        row(out, "Failed requests:", m.get("failed"));
        if (s.info.maxConcurrency() > 0) row(out, "Maximum request concurrency:", s.info.maxConcurrency());
        if (!Double.isNaN(s.info.requestedRate())) row(out, "Requested request rate (req/s):", s.info.requestedRate());
        row(out, "Benchmark duration (s):", m.get("duration"));
        row(out, "Total input tokens:", m.get("total_input_tokens"));
        row(out, "Total generated tokens:", m.get("total_output_tokens"));
        row(out, "Request throughput (req/s):", m.get("request_throughput"));
        if (m.get("request_goodput") != null) row(out, "Request goodput (req/s):", m.get("request_goodput"));
        row(out, "Output token throughput (tok/s):", m.get("output_throughput"));
        row(out, "Peak output token throughput (tok/s):", m.get("max_output_tokens_per_s"));
        row(out, "Peak concurrent requests:", m.get("max_concurrent_requests"));
        row(out, "Total Token throughput (tok/s):", m.get("total_token_throughput"));
        section(out, s, m, "Time to First Token", "ttft", "TTFT");
        section(out, s, m, "Time per Output Token (excl. 1st token)", "tpot", "TPOT");
        section(out, s, m, "Inter-token Latency", "itl", "ITL");
        section(out, s, m, "End-to-end Latency", "e2el", "E2EL");
        out.println(center("Schedule (client honesty)", '-'));
        if (m.get("scheduled_request_rate") != null) row(out, "Scheduled request rate (req/s):", m.get("scheduled_request_rate"));
        if (m.get("achieved_request_rate") != null) row(out, "Achieved send rate (req/s):", m.get("achieved_request_rate"));
        row(out, "Mean schedule lag (ms):", m.get("mean_schedule_lag_ms"));
        row(out, "P99 schedule lag (ms):", m.get("p99_schedule_lag_ms"));
        row(out, "Max schedule lag (ms):", m.get("max_schedule_lag_ms"));
        if (m.containsKey("p99_concurrency_wait_ms")) row(out, "P99 wait for a concurrency slot (ms):", m.get("p99_concurrency_wait_ms"));
        row(out, "P99 TTFT from intended start (ms):", m.get("p" + last(s) + "_ttft_from_intended_ms"));
        row(out, "P99 E2EL from intended start (ms):", m.get("p" + last(s) + "_e2el_from_intended_ms"));
        row(out, "Client CPU per request (ms):", m.get("client_cpu_ms_per_request"));
        if (!s.errors.isEmpty()) {
            out.println(center("Errors by kind", '-'));
            s.errors.forEach((k, v) -> out.printf("%-40s %-10d %s%n", k.key() + ":", v, shorten(s.errorExamples.get(k))));
        }
        for (String w : s.warnings) out.println("WARNING: " + w);
        if (!s.valid()) {
            out.println(center(" RUN INVALID ", '!'));
            for (String r : s.invalidReasons) out.println("INVALID: " + r);
        }
        out.println("=".repeat(50));
    }

    private static String last(RunSummary s) {
        double[] p = s.percentiles();
        return RunSummary.percentileWord(p.length == 0 ? 99 : p[p.length - 1]);
    }

    private static void section(PrintStream out, RunSummary s, Map<String, Object> m, String title, String key, String label) {
        out.println(center(title, '-'));
        row(out, "Mean " + label + " (ms):", m.get("mean_" + key + "_ms"));
        row(out, "Median " + label + " (ms):", m.get("median_" + key + "_ms"));
        for (double p : s.percentiles()) {
            String w = RunSummary.percentileWord(p);
            row(out, "P" + w + " " + label + " (ms):", m.get("p" + w + "_" + key + "_ms"));
        }
    }

    private static void row(PrintStream out, String label, Object value) {
        String v = value instanceof Double d ? String.format("%.2f", d) : String.valueOf(value);
        out.printf("%-40s %-10s%n", label, v);
    }

    private static String center(String title, char fill) {
        int pad = Math.max(0, 50 - title.length());
        return String.valueOf(fill).repeat(pad / 2) + title + String.valueOf(fill).repeat(pad - pad / 2);
    }

    private static String shorten(String s) {
        if (s == null) return "";
        return s.length() <= 100 ? s : s.substring(0, 100) + "…";
    }
}
