package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.BYTE;

import java.lang.foreign.MemorySegment;

/**
 * What the K-quant formats (super-blocks of 256 values) share: the packing of Q4_K/Q5_K's eight 6-bit
 * scales and mins into 12 bytes, ggml's {@code nearest_int}, and the per-sub-block fits that llama.cpp's
 * reference quantizers use ({@code make_qkx2_quants} for scale + min, {@code make_qx_quants} for a symmetric
 * scale). The fits repeat ggml's float operations in ggml's order, so they choose the same quants.
 */
final class KQuants {
    private KQuants() {}

    /** Values per super-block ({@code QK_K}). */
    static final int QK_K = 256;
    /** Bytes of packed 6-bit scales and mins in Q4_K / Q5_K ({@code K_SCALE_SIZE}). */
    static final int SCALE_BYTES = 12;
    /** Below this largest magnitude a group counts as all zero ({@code GROUP_MAX_EPS}). */
    static final float GROUP_MAX_EPS = 1e-15f;

    /** Working arrays of the K-quant quantizers: one per thread, so quantizing allocates nothing per call. */
    static final class Scratch {
        final int[] levels = new int[QK_K];
        final int[] levelsAux = new int[32];
        final float[] weights = new float[32];
        final float[] scales = new float[QK_K / 16];
        final float[] mins = new float[QK_K / 16];
        final int[] scaleLevels = new int[QK_K / 32];
        final int[] minLevels = new int[QK_K / 32];
    }

    static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    private static final ThreadLocal<ScaleMinGrids.Best> BEST = ThreadLocal.withInitial(ScaleMinGrids.Best::new);

    /**
     * ggml's {@code nearest_int}: round to nearest, ties to even (it adds 1.5·2²³ in float). Exact for
     * |x| ≤ 2²²; beyond that ggml's result is meaningless, and this one saturates.
     */
    static int nearestInt(float x) {
        return (int) Math.rint(x);
    }

    // ---- Q4_K / Q5_K scale packing: 8 sub-blocks, each a 6-bit scale and a 6-bit min, in 12 bytes ----
    //   j < 4 : scale j = bits 0..5 of byte j,      min j = bits 0..5 of byte j+4
    //   j >= 4: scale j = low nibble of byte j+4 | (bits 6..7 of byte j-4) << 4
    //           min j   = high nibble of byte j+4 | (bits 6..7 of byte j)   << 4

    /** The 6-bit scale of sub-block {@code j} from the 12 bytes at {@code base}. */
    static int scale6(MemorySegment seg, long base, int j) {
        if (j < 4) return seg.get(BYTE, base + j) & 63;
        return (seg.get(BYTE, base + j + 4) & 0x0F) | (((seg.get(BYTE, base + j - 4) & 0xFF) >>> 6) << 4);
    }

    /** The 6-bit min of sub-block {@code j} from the 12 bytes at {@code base}. */
    static int min6(MemorySegment seg, long base, int j) {
        if (j < 4) return seg.get(BYTE, base + j + 4) & 63;
        return ((seg.get(BYTE, base + j + 4) & 0xFF) >>> 4) | (((seg.get(BYTE, base + j) & 0xFF) >>> 6) << 4);
    }

    /** Packs eight 6-bit scales and mins (each 0..63) into the 12 bytes at {@code base}. */
    static void packScalesMins(int[] scales, int[] mins, MemorySegment seg, long base) {
        for (int j = 0; j < 4; j++) {
            int hiScale = scales[j + 4] >>> 4, hiMin = mins[j + 4] >>> 4;
            seg.set(BYTE, base + j, (byte) (scales[j] | (hiScale << 6)));
            seg.set(BYTE, base + j + 4, (byte) (mins[j] | (hiMin << 6)));
            seg.set(BYTE, base + j + 8, (byte) ((scales[j + 4] & 0x0F) | ((mins[j + 4] & 0x0F) << 4)));
        }
    }

    /**
     * Fits {@code x ≈ scale · L − theMin} with {@code L} in {@code 0..nmax}, minimising the weighted squared
     * error ({@code make_qkx2_quants} with {@code use_mad = false}): start from the min/max grid, then try
     * {@code nstep + 1} stretched grids, each followed by a weighted least-squares solve for scale and min.
     * Writes the levels to {@code levels[lOff .. lOff + n)}, {@code theMin} (≥ 0) to {@code mins[minIdx]},
     * and returns the scale.
     */
    static float fitScaleMin(int n, int nmax, float[] x, int xOff, float[] weights, int[] levels, int lOff,
                             int[] aux, float[] mins, int minIdx, float rmin, float rdelta, int nstep) {
        return fitScaleMin(n, nmax, x, xOff, weights, levels, lOff, aux, mins, minIdx, rmin, rdelta, nstep, true);
    }

    /** {@link #fitScaleMin}, with the grids tried eight at a time ({@link ScaleMinGrids}) or, for tests, one by one. */
    static float fitScaleMin(int n, int nmax, float[] x, int xOff, float[] weights, int[] levels, int lOff,
                             int[] aux, float[] mins, int minIdx, float rmin, float rdelta, int nstep, boolean vectorGrids) {
        float min = x[xOff];
        float max = x[xOff];
        float sumW = weights[0];
        float sumX = sumW * x[xOff];
        for (int i = 1; i < n; i++) {
            float v = x[xOff + i];
            if (v < min) min = v;
            if (v > max) max = v;
            float w = weights[i];
            sumW += w;
            sumX += w * v;
        }
        float dataMin = min;
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) levels[lOff + i] = 0;
            mins[minIdx] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = Math.clamp(nearestInt(iscale * (x[xOff + i] - min)), 0, nmax);
            levels[lOff + i] = l;
            float diff = scale * l + min - x[xOff + i];
            bestError += weights[i] * (diff * diff);
        }
        // the grids, eight at a time where their positions round exactly in vectors; the rest one by one
        ScaleMinGrids.Best best = BEST.get();
        best.error = bestError;
        best.scale = scale;
        best.min = min;
        int done = !vectorGrids ? 0 : ScaleMinGrids.SCRATCH.get().search(n, nmax, x, xOff, weights, levels, lOff, sumW, sumX, dataMin, max,
                rmin, rdelta, 0, nstep, best);
        bestError = best.error;
        scale = best.scale;
        min = best.min;
        for (int is = done; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.clamp(nearestInt(iscale * (x[xOff + i] - min)), 0, nmax);
                aux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xOff + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[xOff + i];
                    error += weights[i] * (diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(aux, 0, levels, lOff, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        mins[minIdx] = -min;
        return scale;
    }

    /**
     * Fits {@code x ≈ scale · (L − nmax)} with {@code L} in {@code 0..2·nmax−1}, weighting each value by
     * {@code x²} ({@code make_qx_quants} with {@code rmse_type = 1} and no importance weights): the value of
     * largest magnitude maps to level 0, then 18 slightly different grids are tried and the best
     * least-squares scale kept. Writes the levels to {@code levels[lOff .. lOff + n)}; returns the (signed)
     * scale, 0 for an all-zero group.
     */
    static float fitSymmetric(int n, int nmax, float[] x, int xOff, int[] levels, int lOff) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xOff + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xOff + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) levels[lOff + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            int l = Math.clamp(nearestInt(iscale * v), -nmax, nmax - 1);
            levels[lOff + i] = l + nmax;
            float w = v * v;
            sumLX += w * v * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = 0;
            sumL2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xOff + i];
                int l = Math.clamp(nearestInt(iscale * v), -nmax, nmax - 1);
                float w = v * v;
                sumLX += w * v * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    levels[lOff + i] = nmax + Math.clamp(nearestInt(iscale * x[xOff + i]), -nmax, nmax - 1);
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }
}
