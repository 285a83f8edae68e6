package dev.mixtral.loadtest;

import java.util.List;

/**
 * A run over time in equal bins: requests sent and finished, requests in flight (the most at any moment of
 * the bin), output tokens per second. A request's output tokens are spread evenly over its content chunks.
 */
record Timeline(double binSeconds, double[] startSeconds, double[] sentPerSecond, double[] completedPerSecond,
                double[] failedPerSecond, int[] inFlight, double[] outputTokensPerSecond) {

    static Timeline of(List<RequestRecord> records, long durationNanos) {
        double duration = Math.max(durationNanos / 1e9, 1e-3);
        // 1 s bins as vLLM's max_output_tokens_per_s uses, finer for short runs so a chart still has a shape
        double bin = duration >= 60 ? 1 : Math.max(0.05, duration / 60);
        int n = (int) Math.ceil(duration / bin);
        double[] start = new double[n], sent = new double[n], done = new double[n], failed = new double[n], tokens = new double[n];
        int[] inFlight = new int[n];
        long[] deltas = new long[2 * records.size()];
        int k = 0;
        for (RequestRecord r : records) {
            sent[bin(r.sendNanos(), bin, n)]++;
            (r.ok() ? done : failed)[bin(r.endNanos(), bin, n)]++;
            // +1 at the send, −1 at the end, sorted by time; the low bit orders an end before a start at the same instant
            deltas[k++] = (r.sendNanos() << 1) | 1;
            deltas[k++] = r.endNanos() << 1;
            if (r.ok() && r.chunks() > 0) {
                double perChunk = (double) r.outputTokens() / r.chunks();
                for (long c : r.chunkNanos()) tokens[bin(r.sendNanos() + c, bin, n)] += perChunk;
            }
        }
        java.util.Arrays.sort(deltas);
        int current = 0;
        for (long d : deltas) {
            current += (d & 1) == 1 ? 1 : -1;
            int b = bin(d >> 1, bin, n);
            inFlight[b] = Math.max(inFlight[b], current);
        }
        for (int i = 0; i < n; i++) {
            start[i] = i * bin;
            sent[i] /= bin;
            done[i] /= bin;
            failed[i] /= bin;
            tokens[i] /= bin;
        }
        // a bin with no event still has the requests that were in flight across it
        current = 0;
        int j = 0;
        for (int i = 0; i < n; i++) {
            long binStart = Math.round(i * bin * 1e9) << 1;
            while (j < deltas.length && deltas[j] < binStart) current += (deltas[j++] & 1) == 1 ? 1 : -1;
            inFlight[i] = Math.max(inFlight[i], current);
        }
        return new Timeline(bin, start, sent, done, failed, inFlight, tokens);
    }

    private static int bin(long nanos, double bin, int n) {
        return (int) Math.min(n - 1, Math.max(0, nanos / 1e9 / bin));
    }

    double maxOutputTokensPerSecond() {
        double max = 0;
        for (double t : outputTokensPerSecond) max = Math.max(max, t);
        return max;
    }

    int maxInFlight() {
        int max = 0;
        for (int c : inFlight) max = Math.max(max, c);
        return max;
    }
}
