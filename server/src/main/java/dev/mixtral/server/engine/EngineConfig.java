package dev.mixtral.server.engine;

import dev.mixtral.model.forward.KvCache;

/**
 * Limits of the continuous-batching engine.
 *
 * @param maxRunning    sequences decoded together in one step at most
 * @param maxWaiting    requests queued for admission at most; beyond this submit() refuses (HTTP 429)
 * @param kvBudgetBytes KV cache memory all running sequences may reserve together; a request reserves
 *                      (prompt + max tokens) positions when admitted, so it can never run out later
 * @param prefillChunk  prompt tokens processed per step across sequences, so long prompts do not stall streams
 * @param kvType        KV cache element type
 */
public record EngineConfig(int maxRunning, int maxWaiting, long kvBudgetBytes, int prefillChunk, KvCache.Type kvType) {
    public EngineConfig {
        if (maxRunning < 1 || maxWaiting < 0 || kvBudgetBytes < 1 || prefillChunk < 1) {
            throw new IllegalArgumentException("invalid engine limits: " + this);
        }
    }

    public static EngineConfig defaults() {
        long heap = Runtime.getRuntime().maxMemory();
        return new EngineConfig(32, 256, Math.max(64L << 20, heap / 3), 256, KvCache.Type.F32);
    }
}
