package dev.mixtral.loadtest;

import java.util.Locale;

/**
 * Service-level objectives in milliseconds ({@code ttft=500,tpot=50,e2el=10000}; any subset). A request meets
 * them when each of its figures is at or under its limit (vLLM's goodput); a run meets them when its p99s do.
 */
record Slo(Double ttftMs, Double tpotMs, Double e2elMs) {

    static Slo parse(String text) {
        Double ttft = null, tpot = null, e2el = null;
        for (String part : text.split(",")) {
            String[] kv = part.strip().split("[=:]");
            if (kv.length != 2) throw new IllegalArgumentException("--slo: '" + part + "' is not NAME=MS (example: ttft=500,tpot=50,e2el=10000)");
            double ms;
            try {
                ms = Double.parseDouble(kv[1].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--slo: '" + kv[1] + "' is not a number of milliseconds");
            }
            if (!(ms > 0)) throw new IllegalArgumentException("--slo: limits must be positive, got " + part);
            switch (kv[0].strip().toLowerCase(Locale.ROOT)) {
                case "ttft" -> ttft = ms;
                case "tpot" -> tpot = ms;
                case "e2el", "e2e" -> e2el = ms;
                default -> throw new IllegalArgumentException("--slo: unknown metric '" + kv[0] + "' (ttft, tpot, e2el)");
            }
        }
        return new Slo(ttft, tpot, e2el);
    }

    boolean met(RequestRecord r) {
        if (!r.ok()) return false;
        if (ttftMs != null && r.ttftNanos() / 1e6 > ttftMs) return false;
        double tpot = r.tpotNanos();
        if (tpotMs != null && !Double.isNaN(tpot) && tpot / 1e6 > tpotMs) return false;
        return e2elMs == null || r.e2elNanos() / 1e6 <= e2elMs;
    }

    /** Whether a run's p99 TTFT, TPOT and E2E latency meet the objectives. */
    boolean metByP99(double ttftP99, double tpotP99, double e2elP99) {
        return (ttftMs == null || ttftP99 <= ttftMs) && (tpotMs == null || tpotP99 <= tpotMs) && (e2elMs == null || e2elP99 <= e2elMs);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (ttftMs != null) sb.append("ttft=").append(ttftMs);
        if (tpotMs != null) sb.append(sb.isEmpty() ? "" : ",").append("tpot=").append(tpotMs);
        if (e2elMs != null) sb.append(sb.isEmpty() ? "" : ",").append("e2el=").append(e2elMs);
        return sb.toString();
    }
}
