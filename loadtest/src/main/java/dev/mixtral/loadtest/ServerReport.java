package dev.mixtral.loadtest;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** The servers' own figures on the console, beside the client's. */
final class ServerReport {
    private ServerReport() {}

    @SuppressWarnings("unchecked")
    static void print(Map<String, Object> server, PrintStream out) {
        out.println("================= Server side (Prometheus) =================");
        for (Map<String, Object> e : (List<Map<String, Object>>) server.get("endpoints")) {
            out.printf("%s (%s)%n", e.get("url"), e.get("kind"));
            for (String h : new String[] {"ttft", "itl", "e2e"}) {
                if (e.get(h) instanceof Map<?, ?> m) {
                    out.printf("  %-28s count %.0f  mean %s  p50 %s  p99 %s ms%n", "server " + h.toUpperCase() + ":", (Double) m.get("count"),
                            fmt(m.get("mean_ms")), fmt(m.get("p50_ms")), fmt(m.get("p99_ms")));
                }
            }
            line(out, e, "generation_tokens", "generated tokens (server)");
            line(out, e, "max_requests_waiting", "max requests waiting");
            line(out, e, "max_requests_running", "max requests running");
            line(out, e, "max_kv_cache_usage", "max KV cache usage");
            line(out, e, "compute_seconds", "expert compute (s)");
            line(out, e, "compute_utilization", "compute busy fraction");
            line(out, e, "max_node_queue_depth", "max node queue depth");
            line(out, e, "mean_expert_balancedness_gauge", "mean balancedness gauge");
        }
        if (server.get("expert_balancedness") instanceof Double b) out.printf("expert balancedness over the run (mean/max per layer): %.3f%n", b);
        if (server.get("node_balancedness") instanceof Double b) out.printf("node balancedness (mean/max tokens per node): %.3f%n", b);
        List<String> failures = (List<String>) server.get("scrape_failures");
        if (!failures.isEmpty()) out.println("scrapes failed: " + failures.size() + " (first: " + failures.getFirst() + ")");
        out.println("=".repeat(60));
    }

    private static void line(PrintStream out, Map<String, Object> e, String key, String label) {
        if (e.get(key) instanceof Double v) out.printf("  %-28s %s%n", label + ":", fmt(v));
    }

    private static String fmt(Object v) {
        return v instanceof Double d ? String.format("%.3f", d) : String.valueOf(v);
    }
}
