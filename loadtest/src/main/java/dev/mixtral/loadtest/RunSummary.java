package dev.mixtral.loadtest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The figures of one run: vLLM {@code bench serve}'s result keys (same names, units and meaning) and ours
 * (schedule lag, achieved vs requested rate, latency from the intended start, errors by kind, validity).
 */
final class RunSummary {
    /** What was asked for, for the report and the validity checks. */
    record RunInfo(String url, String model, boolean chat, double requestedRate, double burstiness, int maxConcurrency,
                   double[] percentiles, Slo slo, double maxScheduleLagMs) {}

    final RunInfo info;
    final LoadRunner.Result result;
    final Distribution ttft = new Distribution();
    final Distribution tpot = new Distribution();
    final Distribution itl = new Distribution();
    final Distribution e2el = new Distribution();
    final Distribution ttftFromIntended = new Distribution();
    final Distribution e2elFromIntended = new Distribution();
    final Distribution scheduleLag = new Distribution();
    final Distribution slotWait = new Distribution();
    final Map<ErrorKind, Integer> errors = new EnumMap<>(ErrorKind.class);
    final Map<ErrorKind, String> errorExamples = new EnumMap<>(ErrorKind.class);
    final Map<Integer, Integer> httpStatuses = new java.util.TreeMap<>();
    final List<String> warnings = new ArrayList<>();
    final List<String> invalidReasons = new ArrayList<>();
    final Timeline timeline;
    int completed;
    int failed;
    long totalInput;
    long totalOutput;
    int good;
    int withUsage;
    int usageChunkMismatch;
    double scheduledRate = Double.NaN;
    double achievedRate = Double.NaN;

    RunSummary(LoadRunner.Result result, RunInfo info) {
        this.result = result;
        this.info = info;
        for (RequestRecord r : result.records()) {
            scheduleLag.record(r.scheduleLagNanos());
            if (info.maxConcurrency() > 0 && !Double.isNaN(info.requestedRate())) slotWait.record(r.slotWaitNanos());
            if (!r.ok()) {
                failed++;
                errors.merge(r.error(), 1, Integer::sum);
                errorExamples.putIfAbsent(r.error(), r.errorMessage());
                if (r.httpStatus() != 0 && r.httpStatus() != 200) httpStatuses.merge(r.httpStatus(), 1, Integer::sum);
                continue;
            }
            completed++;
            totalInput += r.inputTokens();
            totalOutput += r.outputTokens();
            if (r.usageOutputTokens() >= 0) {
                withUsage++;
                if (r.usageOutputTokens() != r.chunks()) usageChunkMismatch++;
            }
            ttft.record(r.ttftNanos());
            tpot.record(r.tpotNanos());
            e2el.record(r.e2elNanos());
            ttftFromIntended.record(r.ttftFromIntendedNanos());
            e2elFromIntended.record(r.e2elFromIntendedNanos());
            long[] c = r.chunkNanos();
            for (int i = 1; i < c.length; i++) itl.record(c[i] - c[i - 1]);
            if (info.slo() != null && info.slo().met(r)) good++;
        }
        rates();
        timeline = Timeline.of(result.records(), result.durationNanos());
        checks();
    }

    private void rates() {
        List<RequestRecord> rs = result.records();
        if (rs.size() < 2) return;
        long[] intended = rs.stream().mapToLong(RequestRecord::intendedNanos).sorted().toArray();
        long[] sent = rs.stream().mapToLong(RequestRecord::sendNanos).sorted().toArray();
        long intendedSpan = intended[intended.length - 1] - intended[0];
        long sentSpan = sent[sent.length - 1] - sent[0];
        if (intendedSpan > 0) scheduledRate = (rs.size() - 1) / (intendedSpan / 1e9);
        if (sentSpan > 0) achievedRate = (rs.size() - 1) / (sentSpan / 1e9);
    }

    private void checks() {
        double lagP99 = scheduleLag.percentileMs(99);
        boolean hasSchedule = !(result.phase().schedule() instanceof ArrivalSchedule.AllAtOnce);
        if (hasSchedule && lagP99 > info.maxScheduleLagMs()) {
            invalidReasons.add(String.format("the client fell behind its schedule: p99 schedule lag %.1f ms > %.1f ms (--max-schedule-lag)", lagP99, info.maxScheduleLagMs()));
        }
        boolean openUncapped = !Double.isNaN(info.requestedRate()) && info.maxConcurrency() <= 0;
        if (openUncapped && result.records().size() >= 20 && achievedRate < 0.95 * scheduledRate) {
            invalidReasons.add(String.format("the client sent at %.2f req/s where its schedule asked %.2f req/s (< 95 %%)", achievedRate, scheduledRate));
        }
        double cpuShare = result.cpuNanos() / (double) result.durationNanos() / Runtime.getRuntime().availableProcessors();
        if (cpuShare > 0.8) {
            warnings.add(String.format("the load generator used %.0f %% of this machine's CPUs: its own timing may be skewed", 100 * cpuShare));
        }
        if (completed > 0 && withUsage == 0) {
            warnings.add("the server reported no usage in its stream: output tokens are counted as content chunks, which is wrong if a chunk carries several tokens");
        } else if (withUsage < completed) {
            warnings.add((completed - withUsage) + " of " + completed + " requests had no usage: their output tokens are counted as content chunks");
        }
        if (usageChunkMismatch > 0) {
            warnings.add(usageChunkMismatch + " of " + withUsage + " requests had usage.completion_tokens ≠ content chunks "
                    + "(several tokens per chunk, or empty chunks): ITL is the gap between chunks, TPOT is per token");
        }
        if (completed == 0) invalidReasons.add("no request completed");
    }

    boolean valid() {
        return invalidReasons.isEmpty();
    }

    double durationSeconds() {
        return result.durationNanos() / 1e9;
    }

    double requestThroughput() {
        return completed / durationSeconds();
    }

    double outputThroughput() {
        return totalOutput / durationSeconds();
    }

    /** The result as vLLM writes it ({@code --save-result}), followed by our own keys. */
    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("date", Instant.now().toString());
        m.put("backend", info.chat() ? "openai-chat" : "openai");
        m.put("model_id", info.model());
        m.put("base_url", info.url());
        m.put("num_prompts", result.records().size());
        m.put("request_rate", Double.isNaN(info.requestedRate()) ? "inf" : info.requestedRate());
        m.put("burstiness", info.burstiness());
        m.put("max_concurrency", info.maxConcurrency() > 0 ? info.maxConcurrency() : null);
        m.put("duration", durationSeconds());
        m.put("completed", completed);
        m.put("failed", failed);
        m.put("total_input_tokens", totalInput);
        m.put("total_output_tokens", totalOutput);
        m.put("request_throughput", requestThroughput());
        m.put("request_goodput", info.slo() != null ? good / durationSeconds() : null);
        m.put("output_throughput", outputThroughput());
        m.put("total_token_throughput", (totalInput + totalOutput) / durationSeconds());
        m.put("max_output_tokens_per_s", timeline.maxOutputTokensPerSecond());
        m.put("max_concurrent_requests", timeline.maxInFlight());
        stats(m, "ttft", ttft);
        stats(m, "tpot", tpot);
        stats(m, "itl", itl);
        stats(m, "e2el", e2el);
        // ours
        m.put("valid", valid());
        m.put("invalid_reasons", invalidReasons);
        m.put("warnings", warnings);
        m.put("requested_request_rate", Double.isNaN(info.requestedRate()) ? null : info.requestedRate());
        m.put("scheduled_request_rate", nullIfNaN(scheduledRate));
        m.put("achieved_request_rate", nullIfNaN(achievedRate));
        m.put("mean_schedule_lag_ms", scheduleLag.meanMs());
        m.put("p50_schedule_lag_ms", scheduleLag.percentileMs(50));
        m.put("p99_schedule_lag_ms", scheduleLag.percentileMs(99));
        m.put("max_schedule_lag_ms", scheduleLag.maxMs());
        if (slotWait.count() > 0) {
            m.put("mean_concurrency_wait_ms", slotWait.meanMs());
            m.put("p99_concurrency_wait_ms", slotWait.percentileMs(99));
        }
        stats(m, "ttft_from_intended", ttftFromIntended);
        stats(m, "e2el_from_intended", e2elFromIntended);
        Map<String, Integer> byKind = new LinkedHashMap<>();
        errors.forEach((k, v) -> byKind.put(k.key(), v));
        m.put("errors_by_kind", byKind);
        Map<String, String> examples = new LinkedHashMap<>();
        errorExamples.forEach((k, v) -> examples.put(k.key(), v));
        m.put("error_examples", examples);
        Map<String, Integer> statuses = new LinkedHashMap<>();
        httpStatuses.forEach((k, v) -> statuses.put(Integer.toString(k), v));
        m.put("errors_by_http_status", statuses);
        m.put("requests_with_usage", withUsage);
        m.put("requests_usage_not_chunks", usageChunkMismatch);
        m.put("slo", info.slo() != null ? info.slo().toString() : null);
        m.put("client_cpu_seconds", result.cpuNanos() / 1e9);
        m.put("client_cpu_ms_per_request", result.records().isEmpty() ? null : result.cpuNanos() / 1e6 / result.records().size());
        return m;
    }

    private void stats(Map<String, Object> m, String name, Distribution d) {
        m.put("mean_" + name + "_ms", d.meanMs());
        m.put("median_" + name + "_ms", d.percentileMs(50));
        m.put("std_" + name + "_ms", d.stdMs());
        for (double p : info.percentiles()) m.put("p" + percentileWord(p) + "_" + name + "_ms", d.percentileMs(p));
    }

    /** 99 → "99", 99.9 → "99.9" (vLLM's key spelling). */
    static String percentileWord(double p) {
        return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }

    private static Double nullIfNaN(double v) {
        return Double.isNaN(v) ? null : v;
    }

    double[] percentiles() {
        return Arrays.copyOf(info.percentiles(), info.percentiles().length);
    }
}
