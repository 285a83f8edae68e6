package dev.mixtral.loadtest;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Arrival processes, the summary's validity rules and the options' error messages, without a server. */
class ScheduleAndSummaryTest {

    private static double[] gaps(ArrivalSchedule s, int n) {
        double[] g = new double[n];
        long prev = s.nextOffsetNanos();
        for (int i = 0; i < n; i++) {
            long t = s.nextOffsetNanos();
            g[i] = (t - prev) / 1e9;
            prev = t;
        }
        return g;
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }

    private static double cv(double[] x) {
        double m = mean(x), ss = 0;
        for (double v : x) ss += (v - m) * (v - m);
        return Math.sqrt(ss / x.length) / m;
    }

    @Test
    void gammaGapsHaveTheRateAsMeanAndOneOverRootBurstinessAsCoefficientOfVariation() {
        for (double b : new double[] {0.25, 1, 4}) {
            double[] g = gaps(ArrivalSchedule.rate(50, false, b, 7), 40_000);
            assertThat(mean(g)).as("mean gap, burstiness %s", b).isCloseTo(1 / 50.0, within(0.03 / 50));
            assertThat(cv(g)).as("CV, burstiness %s", b).isCloseTo(1 / Math.sqrt(b), within(0.05 / Math.sqrt(b)));
        }
        double[] constant = gaps(ArrivalSchedule.rate(40, true, 1, 7), 1000);
        for (double v : constant) assertThat(v).isCloseTo(0.025, within(1e-9));
    }

    @Test
    void aRampSendsAsManyAsItsIntegratedRate() {
        // 10 → 30 req/s over 10 s: Λ(5 s) = 10·5 + 20·25/20 = 75, Λ(10 s) = 200
        ArrivalSchedule ramp = ArrivalSchedule.ramp(10, 30, 10, true, 1, 1);
        int firstHalf = 0, total = 0;
        for (long t; (t = ramp.nextOffsetNanos()) < 10_000_000_000L; total++) if (t < 5_000_000_000L) firstHalf++;
        assertThat(firstHalf).isBetween(75, 76);
        assertThat(total).isBetween(200, 201);
        ArrivalSchedule fromZero = ArrivalSchedule.ramp(0, 20, 10, true, 1, 1);
        int n = 0;
        for (long t; (t = fromZero.nextOffsetNanos()) < 10_000_000_000L; ) n++;
        assertThat(n).isBetween(100, 101); // Λ(10) = 20·100/20
    }

    private static RequestRecord record(int i, long intended, long send, long ttft, long end) {
        long[] chunks = {ttft, ttft + 10_000_000, ttft + 20_000_000};
        return new RequestRecord(i, intended, send, 0, end, chunks, 3, 10, 10, 3, null, 200, null);
    }

    @Test
    void aClientBehindItsScheduleMakesTheRunInvalid() {
        List<RequestRecord> onTime = new ArrayList<>(), late = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            long intended = i * 10_000_000L; // 100 req/s
            onTime.add(record(i, intended, intended + 100_000, 50_000_000, intended + 80_000_000));
            long send = intended + i * 2_000_000L; // drifting 2 ms further behind per request
            late.add(record(i, intended, send, 50_000_000, send + 80_000_000));
        }
        RunSummary.RunInfo info = new RunSummary.RunInfo("http://127.0.0.1:1", "m", false, 100, 1, 0, new double[] {99}, null, 10);
        LoadRunner.Phase phase = new LoadRunner.Phase("t", ArrivalSchedule.rate(100, true, 1, 0), 0, 40, Long.MAX_VALUE, null, 0);
        RunSummary good = new RunSummary(new LoadRunner.Result(phase, onTime, 0, 500_000_000L, 1), info);
        RunSummary bad = new RunSummary(new LoadRunner.Result(phase, late, 0, 600_000_000L, 1), info);
        assertThat(good.valid()).as(good.invalidReasons.toString()).isTrue();
        assertThat(bad.valid()).isFalse();
        assertThat(bad.invalidReasons.toString()).contains("fell behind its schedule").contains("sent at");
        assertThat(bad.toMap().get("achieved_request_rate")).isInstanceOf(Double.class);
        assertThat((double) bad.toMap().get("achieved_request_rate")).isCloseTo(39 / 0.468, within(0.01));
        // E2E 79.9 ms (send 0.1 ms late), TTFT 50 ms, 3 tokens: TPOT = 29.9/2 ms; ITL 10 ms
        assertThat((double) good.toMap().get("mean_tpot_ms")).isCloseTo(14.95, within(0.02));
        assertThat((double) good.toMap().get("median_itl_ms")).isCloseTo(10, within(0.01));
        assertThat((double) good.toMap().get("mean_e2el_ms")).isCloseTo(79.9, within(0.01));
    }

    @Test
    void goodputCountsRequestsMeetingEveryObjective() {
        List<RequestRecord> rs = new ArrayList<>();
        for (int i = 0; i < 10; i++) rs.add(record(i, 0, 0, (i < 7 ? 40 : 400) * 1_000_000L, 500_000_000L));
        RunSummary.RunInfo info = new RunSummary.RunInfo("u", "m", false, Double.NaN, 1, 4, new double[] {99}, Slo.parse("ttft=100,e2el=1000"), 10);
        LoadRunner.Phase phase = new LoadRunner.Phase("t", null, 4, 10, Long.MAX_VALUE, null, 0);
        RunSummary s = new RunSummary(new LoadRunner.Result(phase, rs, 0, 2_000_000_000L, 1), info);
        assertThat((double) s.toMap().get("request_goodput")).isCloseTo(3.5, within(1e-9)); // 7 good in 2 s
        assertThat((double) s.toMap().get("request_throughput")).isCloseTo(5, within(1e-9));
    }

    @Test
    void theTimelineCountsRequestsInFlightAndSpreadsTokensOverChunks() {
        // three requests overlapping in [0.5 s, 1 s); 6 s run → 0.1 s bins
        List<RequestRecord> rs = List.of(
                new RequestRecord(0, 0, 0, 0, 1_000_000_000L, new long[] {100_000_000L, 900_000_000L}, 10, 5, 5, 10, null, 200, null),
                new RequestRecord(1, 0, 500_000_000L, 0, 1_500_000_000L, new long[] {100_000_000L}, 4, 5, 5, 4, null, 200, null),
                new RequestRecord(2, 0, 500_000_000L, 0, 5_000_000_000L, new long[0], -1, -1, 5, 4, ErrorKind.TIMEOUT, 200, "t"));
        Timeline t = Timeline.of(rs, 6_000_000_000L);
        assertThat(t.binSeconds()).isCloseTo(0.1, within(1e-12));
        assertThat(t.maxInFlight()).isEqualTo(3);
        assertThat(t.inFlight()[3]).isEqualTo(1);   // [0.3, 0.4): only request 0
        assertThat(t.inFlight()[30]).isEqualTo(1);  // [3.0, 3.1): only the request that timed out
        assertThat(t.inFlight()[55]).isZero();
        double tokens = 0;
        for (double v : t.outputTokensPerSecond()) tokens += v * t.binSeconds();
        assertThat(tokens).isCloseTo(14, within(1e-9)); // 10 + 4; the failed request adds none
        assertThat(t.outputTokensPerSecond()[1]).isCloseTo(5 / 0.1, within(1e-9)); // half of request 0's 10 tokens at 0.1 s
        assertThat(t.failedPerSecond()[50]).isCloseTo(10, within(1e-9));
    }

    private static LoadTestCommand parse(String... args) {
        LoadTestCommand c = new LoadTestCommand();
        new CommandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void badOptionsGetMessagesNamingTheOption() {
        assertThatThrownBy(() -> parse("--model", "m").plan()).hasMessageContaining("choose a load shape");
        assertThatThrownBy(() -> parse("--model", "m", "--rate", "abc").plan()).hasMessageContaining("--rate");
        assertThatThrownBy(() -> parse("--model", "m", "--rate", "-1").plan()).hasMessageContaining("--rate must be > 0");
        assertThatThrownBy(() -> parse("--model", "m", "--rate", "1", "--ramp", "1:2").plan()).hasMessageContaining("one of --rate, --ramp");
        assertThatThrownBy(() -> parse("--model", "m", "--ramp", "1:2").plan()).hasMessageContaining("--ramp needs --duration");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "0").plan()).hasMessageContaining("--concurrency must be");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "1", "--input-len", "uniform:9:2").plan()).hasMessageContaining("--input-len");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "1", "--output-len", "normal:x").plan()).hasMessageContaining("--output-len");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "1", "--duration", "soon").plan()).hasMessageContaining("--duration");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "1", "--url", "ftp://x").plan()).hasMessageContaining("--url");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "1", "--endpoint", "embeddings").plan()).hasMessageContaining("--endpoint");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "1", "--slo", "ttft=fast").plan()).hasMessageContaining("--slo");
        assertThatThrownBy(() -> parse("--model", "m", "--concurrency", "1", "--dataset", "/nonexistent/x.jsonl").plan()).hasMessageContaining("/nonexistent/x.jsonl");
        assertThat(LoadTestCommand.execute("--rate")).isEqualTo(2); // picocli: a missing parameter is a usage error
    }
}
