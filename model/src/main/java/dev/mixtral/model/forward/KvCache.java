package dev.mixtral.model.forward;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.kernel.VectorMath;

import java.util.Arrays;

/**
 * One sequence's keys and values for every layer, grown on demand up to the context length.
 * F32 by default; F16 halves the memory at the cost of rounding (as llama.cpp's default cache does).
 *
 * <p>Layout, per layer: values position by position ({@code [pos][kvDim]}); keys in tiles of {@value #TILE}
 * positions stored component by component ({@code [pos / 8][kvDim][8]}), so the scores of 8 positions are one
 * vector of multiply-adds with no lane sums ({@link VectorMath#scoreTile}). Storage is whole tiles; the
 * unwritten positions of the last one hold zeros and their scores are never used.
 */
public final class KvCache {
    public enum Type { F32, F16 }

    /** Positions per key tile: the lane count of the score kernel. */
    static final int TILE = 8;
    /** Positions whose values are summed per pass: 64 rows of a Mixtral head (32 KB) stay in L1/L2 across heads. */
    static final int VALUE_ROWS = 64;

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
        int stored = tiles(grown) * TILE * kvDim;
        for (int l = 0; l < layers; l++) {
            if (type == Type.F32) {
                k32[l] = Arrays.copyOf(k32[l], stored);
                v32[l] = Arrays.copyOf(v32[l], stored);
            } else {
                k16[l] = Arrays.copyOf(k16[l], stored);
                v16[l] = Arrays.copyOf(v16[l], stored);
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
        return 2L * layers * tiles(capacity) * TILE * kvDim * (type == Type.F32 ? 4 : 2);
    }

    private static int tiles(int positions) {
        return (positions + TILE - 1) / TILE;
    }

    /** Where component {@code c} of position {@code pos}'s key is stored. */
    private int keyIndex(int pos, int c) {
        return (pos / TILE) * TILE * kvDim + c * TILE + pos % TILE;
    }

    public void store(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        int base = pos * kvDim, key = keyIndex(pos, 0);
        if (type == Type.F32) {
            for (int c = 0; c < kvDim; c++) k32[layer][key + c * TILE] = k[kOff + c];
            System.arraycopy(v, vOff, v32[layer], base, kvDim);
        } else {
            for (int c = 0; c < kvDim; c++) {
                k16[layer][key + c * TILE] = Float.floatToFloat16(k[kOff + c]);
                v16[layer][base + c] = Float.floatToFloat16(v[vOff + c]);
            }
        }
    }

    /**
     * {@code scores[i][pos] = scale · q_i · key[pos]} for positions {@code pos < len} of one head (components
     * {@code [headOff, headOff + headDim)}) and the query heads {@code i < group} at {@code q[qOff + i·headDim ..]},
     * in {@link VectorMath#scoreTile}'s order. Each row of {@code scores} needs room for {@code len} rounded up to
     * a multiple of 8 (the last tile's extra scores are written and meaningless).
     */
    public void scores(int layer, int len, int headOff, float[] q, int qOff, int group, int headDim, float scale, float[][] scores) {
        for (int t = 0; t < tiles(len); t++) {
            int at = keyIndex(t * TILE, headOff);
            float[] tile = type == Type.F32 ? k32[layer] : widened(k16[layer], at, TILE * headDim);
            int off = type == Type.F32 ? at : 0;
            for (int i = 0; i < group; i++) {
                VectorMath.scoreTile(tile, off, q, qOff + i * headDim, headDim, scale, scores[i], t * TILE);
            }
        }
    }

    /**
     * {@code out[outOff + i·headDim + d] += Σ_pos p[i][pos] · value[pos][headOff + d]} for the query heads
     * {@code i < group}, positions {@code pos < len} summed in order, one fma each ({@link VectorMath#addWeightedRows}).
     */
    public void addValues(int layer, int len, int headOff, float[][] p, int group, float[] out, int outOff, int headDim) {
        for (int j0 = 0; j0 < len; j0 += VALUE_ROWS) {
            int rows = Math.min(VALUE_ROWS, len - j0), at = j0 * kvDim + headOff;
            float[] values = type == Type.F32 ? v32[layer] : widenedRows(v16[layer], at, rows, headDim);
            int off = type == Type.F32 ? at : 0, stride = type == Type.F32 ? kvDim : headDim;
            for (int i = 0; i < group; i++) {
                VectorMath.addWeightedRows(values, off, stride, rows, p[i], j0, out, outOff + i * headDim, headDim);
            }
        }
    }

    private static final ThreadLocal<float[]> WIDENED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * {@code n} contiguous f16 widened into this thread's scratch array. The F16 cache then computes with the
     * same vector code, in the same order, as the F32 cache would on the f16-rounded values.
     */
    private static float[] widened(short[] src, int off, int n) {
        float[] w = scratch(n);
        VectorMath.widenF16(src, off, w, 0, n);
        return w;
    }

    /** {@code rows} value slices of {@code n} components, {@code kvDim} apart in {@code src}, widened side by side. */
    private float[] widenedRows(short[] src, int off, int rows, int n) {
        float[] w = scratch(rows * n);
        for (int j = 0; j < rows; j++) VectorMath.widenF16(src, off + j * kvDim, w, j * n, n);
        return w;
    }

    private static float[] scratch(int n) {
        float[] w = WIDENED.get();
        if (w.length < n) {
            w = new float[n];
            WIDENED.set(w);
        }
        return w;
    }
}
