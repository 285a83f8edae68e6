package dev.mixtral.loadtest;

import org.HdrHistogram.Histogram;

/**
 * A latency distribution in nanoseconds: percentiles from an HdrHistogram (3 significant digits, so within
 * 0.1 % of the exact order statistic, in constant memory), mean and population standard deviation exact
 * (as numpy's {@code mean} and {@code std} give them in vLLM's report).
 */
final class Distribution {
    private final Histogram histogram = new Histogram(3);
    private long count;
    private double sum;
    private double sumSquares;

    Distribution() {
        histogram.setAutoResize(true);
    }

    void record(double nanos) {
        if (Double.isNaN(nanos)) return;
        long v = Math.max(0, Math.round(nanos));
        histogram.recordValue(v);
        count++;
        sum += v;
        sumSquares += (double) v * v;
    }

    long count() {
        return count;
    }

    /** Mean in milliseconds; 0 when empty (as vLLM reports an empty list). */
    double meanMs() {
        return count == 0 ? 0 : sum / count / 1e6;
    }

    double stdMs() {
        if (count == 0) return 0;
        double mean = sum / count;
        return Math.sqrt(Math.max(0, sumSquares / count - mean * mean)) / 1e6;
    }

    /** The value at percentile {@code p} (0..100) in milliseconds; 0 when empty. */
    double percentileMs(double p) {
        if (count == 0) return 0;
        return histogram.medianEquivalentValue(histogram.getValueAtPercentile(p)) / 1e6;
    }

    double maxMs() {
        return count == 0 ? 0 : histogram.getMaxValue() / 1e6;
    }

    /** The cumulative distribution as (milliseconds, fraction ≤) pairs, for the report's CDF charts. */
    double[][] cdf(int points) {
        if (count == 0) return new double[2][0];
        double[][] out = new double[2][points + 1];
        for (int i = 0; i <= points; i++) {
            double p = 100.0 * i / points;
            out[0][i] = percentileMs(p);
            out[1][i] = p / 100;
        }
        return out;
    }
}
