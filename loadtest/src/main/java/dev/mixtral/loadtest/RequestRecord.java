package dev.mixtral.loadtest;

/**
 * What happened to one request. Times are nanoseconds from the run's start, except {@code chunkNanos}
 * (arrival of each chunk that carried content, from the send).
 *
 * <p>The definitions follow vLLM's {@code bench serve}, with content-carrying chunks only (vLLM also times
 * the chat role chunk and the empty finish chunk):
 * TTFT = first content chunk − send; ITL = gaps between consecutive content chunks;
 * E2E = end of stream − send; TPOT = (E2E − TTFT) / (output tokens − 1).
 * Output tokens come from the stream's {@code usage} (chunks are not tokens when a server sends several per chunk).
 *
 * @param intendedNanos when the schedule meant it to start
 * @param sendNanos     when it was actually sent
 * @param slotWaitNanos time spent waiting for a --concurrency slot (a deliberate cap, not client lag)
 * @param usageOutputTokens {@code usage.completion_tokens}, -1 when the server did not report usage
 * @param usagePromptTokens {@code usage.prompt_tokens}, -1 when not reported
 */
record RequestRecord(int index, long intendedNanos, long sendNanos, long slotWaitNanos, long endNanos, long[] chunkNanos,
                     int usageOutputTokens, int usagePromptTokens, int expectedInputTokens, int maxTokens,
                     ErrorKind error, int httpStatus, String errorMessage) {

    boolean ok() {
        return error == null;
    }

    int chunks() {
        return chunkNanos.length;
    }

    /** Output tokens: from usage when reported, else the number of content chunks (exact only for one token per chunk). */
    int outputTokens() {
        return usageOutputTokens >= 0 ? usageOutputTokens : chunkNanos.length;
    }

    int inputTokens() {
        return usagePromptTokens >= 0 ? usagePromptTokens : expectedInputTokens;
    }

    long ttftNanos() {
        return chunkNanos.length > 0 ? chunkNanos[0] : -1;
    }

    long e2elNanos() {
        return endNanos - sendNanos;
    }

    /** TPOT in nanoseconds; NaN with fewer than 2 output tokens (undefined, and left out as vLLM does). */
    double tpotNanos() {
        int tokens = outputTokens();
        return tokens > 1 && chunkNanos.length > 0 ? (double) (e2elNanos() - ttftNanos()) / (tokens - 1) : Double.NaN;
    }

    /** Lag of the client behind its schedule: send − intended, less any wait for a concurrency slot. */
    long scheduleLagNanos() {
        return Math.max(0, sendNanos - intendedNanos - slotWaitNanos);
    }

    /** TTFT as the user who arrived at the intended time felt it (coordinated omission corrected). */
    long ttftFromIntendedNanos() {
        return sendNanos - intendedNanos + ttftNanos();
    }

    long e2elFromIntendedNanos() {
        return endNanos - intendedNanos;
    }
}
