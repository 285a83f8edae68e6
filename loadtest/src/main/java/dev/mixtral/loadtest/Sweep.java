package dev.mixtral.loadtest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * From one user at a time to saturation, then rates in between (as GuideLLM sweeps): a synchronous run
 * (concurrency 1) gives the rate of an idle server, a throughput run (everything at once, capped) the most it
 * completes; open-loop runs at evenly spaced rates between show where latency turns. With objectives, the
 * highest rate whose p99 TTFT, TPOT and E2E latency meet them is searched, first among those rates, then by
 * bisection between the last rate that met them and the first that did not.
 */
final class Sweep {
    /** One step's shape; the caller turns it into a phase with its own bounds and workload. */
    record Step(String name, double rate, int concurrency) {}

    record Outcome(List<RunSummary> runs, Double maxRateMeetingSlo, double synchronousRate, double throughputRate) {
        Map<String, Object> toMap(Slo slo) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("synchronous_request_rate", synchronousRate);
            m.put("saturation_request_rate", throughputRate);
            m.put("slo", slo != null ? slo.toString() : null);
            m.put("max_rate_meeting_slo", maxRateMeetingSlo);
            List<Map<String, Object>> steps = new ArrayList<>();
            for (RunSummary r : runs) {
                Map<String, Object> s = r.toMap();
                s.put("step", r.result.phase().name());
                s.put("saturated", saturated(r));
                if (slo != null) s.put("meets_slo", meets(r, slo));
                steps.add(s);
            }
            m.put("benchmarks", steps);
            return m;
        }
    }

    private Sweep() {}

    /**
     * @param rates       rates between synchronous and saturation
     * @param maxInFlight the throughput run's cap on requests in flight
     * @param refine      bisection steps of the SLO search
     */
    static Outcome run(Function<Step, RunSummary> runStep, int rates, int maxInFlight, Slo slo, int refine, java.io.PrintStream log) {
        List<RunSummary> runs = new ArrayList<>();
        RunSummary sync = runStep.apply(new Step("synchronous", Double.NaN, 1));
        runs.add(sync);
        RunSummary throughput = runStep.apply(new Step("throughput", Double.POSITIVE_INFINITY, maxInFlight));
        runs.add(throughput);
        double low = sync.requestThroughput(), high = throughput.requestThroughput();
        log.printf(Locale.ROOT, "[loadtest] sweep: synchronous %.3f req/s, saturation %.3f req/s%n", low, high);
        if (!(high > low)) high = low * 1.5; // an idle server as fast as a saturated one: still look a little above it
        for (int i = 1; i <= rates; i++) {
            double r = low + (high - low) * i / (rates + 1);
            runs.add(runStep.apply(new Step(String.format(Locale.ROOT, "rate %.4g", r), r, 0)));
        }
        Double best = null;
        if (slo != null) {
            best = bestRate(runs, slo);
            Double failing = lowestFailingAbove(runs, slo, best == null ? 0 : best);
            for (int i = 0; i < refine && failing != null; i++) {
                double lo = best == null ? 0 : best;
                double r = (lo + failing) / 2;
                if (r <= 0) break;
                RunSummary probe = runStep.apply(new Step(String.format(Locale.ROOT, "slo search %.4g", r), r, 0));
                runs.add(probe);
                if (meets(probe, slo)) best = r;
                else failing = r;
            }
            best = bestRate(runs, slo);
        }
        return new Outcome(runs, best, low, throughput.requestThroughput());
    }

    /** The rate a step offered: its nominal rate, or for the synchronous step the rate it achieved. */
    static double offeredRate(RunSummary r) {
        if (!Double.isNaN(r.info.requestedRate())) return r.info.requestedRate();
        return r.result.phase().concurrency() == 1 && r.result.phase().schedule() == null ? r.requestThroughput() : Double.NaN;
    }

    /** A rate meets the objectives when the run was valid, nothing failed, the server kept up, and the p99s are within them. */
    static boolean meets(RunSummary r, Slo slo) {
        return r.valid() && r.failed == 0 && !saturated(r) && slo.metByP99(r.ttft.percentileMs(99), r.tpot.percentileMs(99), r.e2el.percentileMs(99));
    }

    /** The server did not keep up: it completed less than 90 % of what was offered. */
    static boolean saturated(RunSummary r) {
        double offered = offeredRate(r);
        return !Double.isNaN(offered) && r.requestThroughput() < 0.9 * offered;
    }

    private static Double bestRate(List<RunSummary> runs, Slo slo) {
        return runs.stream().filter(r -> !Double.isNaN(offeredRate(r)) && meets(r, slo)).map(Sweep::offeredRate)
                .max(Comparator.naturalOrder()).orElse(null);
    }

    private static Double lowestFailingAbove(List<RunSummary> runs, Slo slo, double rate) {
        return runs.stream().filter(r -> !Double.isNaN(offeredRate(r)) && offeredRate(r) > rate && !meets(r, slo))
                .map(Sweep::offeredRate).min(Comparator.naturalOrder()).orElse(null);
    }

    static void printTable(Outcome o, Slo slo, java.io.PrintStream out) {
        out.println("================================ Sweep ================================");
        out.printf("%-18s %9s %9s %9s %9s %9s %9s %6s%s%n", "step", "offered", "req/s", "tok/s", "p50 TTFT", "p99 TTFT", "p99 TPOT", "valid",
                slo != null ? "  SLO" : "");
        for (RunSummary r : o.runs()) {
            double offered = offeredRate(r);
            out.printf(Locale.ROOT, "%-18s %9s %9.3f %9.1f %9.1f %9.1f %9.2f %6s%s%s%n", r.result.phase().name(),
                    Double.isNaN(offered) ? "max" : String.format(Locale.ROOT, "%.3f", offered), r.requestThroughput(), r.outputThroughput(),
                    r.ttft.percentileMs(50), r.ttft.percentileMs(99), r.tpot.percentileMs(99), r.valid() ? "yes" : "NO",
                    slo != null ? (meets(r, slo) ? "  met" : "  missed") : "", saturated(r) ? "  (saturated)" : "");
        }
        if (slo != null) {
            out.println(o.maxRateMeetingSlo() != null
                    ? String.format(Locale.ROOT, "Highest rate meeting p99 %s: %.3f req/s", slo, o.maxRateMeetingSlo())
                    : "No rate met p99 " + slo);
        }
        out.println("=======================================================================");
    }
}
