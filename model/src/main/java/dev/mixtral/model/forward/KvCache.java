package dev.mixtral.model.forward;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.kernel.VectorMath;

import java.util.Arrays;

/**
 * One sequence's keys and values for every layer, grown on demand up to the context length.
 * F32 by default; F16 halves the memory at the cost of rounding (as llama.cpp's default cache does).
 */
public final class KvCache {
    public enum Type { F32, F16 }

    private final Type type;
    private final int layers;
    private final int kvDim;
    private final int context;
    private int capacity;
    private final float[][] k32, v32;
    private final short[][] k16, v16;

    public KvCache(ModelConfig config, Type type) {
        this(config, type, config.context());
    }

    /** A cache that never holds more than {@code maxPositions} (≤ the context length): what a request reserved. */
    public KvCache(ModelConfig config, Type type, int maxPositions) {
        this.type = type;
        this.layers = config.layers();
        this.kvDim = config.kvDim();
        this.context = Math.min(maxPositions, config.context());
        this.capacity = 0;
        if (type == Type.F32) {
            k32 = new float[layers][0];
            v32 = new float[layers][0];
            k16 = v16 = null;
        } else {
            k16 = new short[layers][0];
            v16 = new short[layers][0];
            k32 = v32 = null;
        }
    }

    public Type type() {
        return type;
    }

    /** Makes room for positions [0, positions). */
    public void ensureCapacity(int positions) {
        if (positions <= capacity) return;
        if (positions > context) {
            throw new IllegalArgumentException("sequence of " + positions + " tokens exceeds its limit of " + context);
        }
        int grown = Math.min(context, Math.max(positions, Math.max(16, capacity * 2)));
        for (int l = 0; l < layers; l++) {
            if (type == Type.F32) {
                k32[l] = Arrays.copyOf(k32[l], grown * kvDim);
                v32[l] = Arrays.copyOf(v32[l], grown * kvDim);
            } else {
                k16[l] = Arrays.copyOf(k16[l], grown * kvDim);
                v16[l] = Arrays.copyOf(v16[l], grown * kvDim);
            }
        }
        capacity = grown;
    }

    /** Bytes one position takes in every layer (keys and values). */
    public static long bytesPerPosition(ModelConfig config, Type type) {
        return 2L * config.layers() * config.kvDim() * (type == Type.F32 ? 4 : 2);
    }

    /** Bytes held by this cache. */
    public long bytes() {
        return 2L * layers * capacity * kvDim * (type == Type.F32 ? 4 : 2);
    }

    public void store(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        int base = pos * kvDim;
        if (type == Type.F32) {
            System.arraycopy(k, kOff, k32[layer], base, kvDim);
            System.arraycopy(v, vOff, v32[layer], base, kvDim);
        } else {
            for (int i = 0; i < kvDim; i++) {
                k16[layer][base + i] = Float.floatToFloat16(k[kOff + i]);
                v16[layer][base + i] = Float.floatToFloat16(v[vOff + i]);
            }
        }
    }

    /** q · key[pos] over one head's {@code headDim} components starting at component {@code headOff}. */
    public float dotKey(int layer, int pos, int headOff, float[] q, int qOff, int headDim) {
        int base = pos * kvDim + headOff;
        if (type == Type.F32) return VectorMath.dot(k32[layer], base, q, qOff, headDim);
        float[] key = widened(k16[layer], base, headDim);
        return VectorMath.dot(key, 0, q, qOff, headDim);
    }

    /** out += p · value[pos] over one head's components. */
    public void addValue(int layer, int pos, int headOff, float p, float[] out, int outOff, int headDim) {
        int base = pos * kvDim + headOff;
        if (type == Type.F32) {
            VectorMath.axpy(p, v32[layer], base, out, outOff, headDim);
            return;
        }
        VectorMath.axpy(p, widened(v16[layer], base, headDim), 0, out, outOff, headDim);
    }

    private static final ThreadLocal<float[]> WIDENED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * An f16 head slice widened into this thread's scratch array. The F16 cache then computes with the same
     * vector code, in the same order, as the F32 cache would on the f16-rounded values.
     */
    private static float[] widened(short[] src, int off, int n) {
        float[] w = WIDENED.get();
        if (w.length < n) {
            w = new float[n];
            WIDENED.set(w);
        }
        VectorMath.widenF16(src, off, w, 0, n);
        return w;
    }
}
