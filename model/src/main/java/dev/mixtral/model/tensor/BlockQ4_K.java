package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.BYTE;

import dev.mixtral.model.kernel.Q4_KKernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/**
 * ggml's {@code block_q4_K}: 256 values in 144 bytes, as 8 sub-blocks of 32.
 *
 * <pre>
 *   0  d      fp16  super-block scale of the sub-block scales
 *   2  dmin   fp16  super-block scale of the sub-block mins
 *   4  scales 12 B  eight 6-bit scales sc[j] and eight 6-bit mins m[j]: for j &lt; 4, sc[j] is bits 0-5 of byte j
 *                   and m[j] bits 0-5 of byte j+4; for j &ge; 4, byte j+4 holds the low 4 bits of sc[j] (low
 *                   nibble) and of m[j] (high nibble), and their top 2 bits are bits 6-7 of bytes j-4 and j
 *  16  qs     128 B nibbles: byte 32·c + l holds value 64·c + l (low nibble) and 64·c + 32 + l (high nibble)
 * </pre>
 *
 * Value {@code i} of sub-block {@code j} is {@code (d·sc[j]) · q − (dmin·m[j])}.
 */
public final class BlockQ4_K extends BlockFormat {
    public static final int VALUES = 256;
    public static final int BYTES = 144;
    public static final int D = 0, DMIN = 2, SCALES = 4, QS = 16;

    BlockQ4_K() {
        super(VALUES, BYTES, 15); // LLAMA_FTYPE_MOSTLY_Q4_K_M: the synthetic writer gives a Q4_K file llama-quantize's Q4_K_M mix
    }

    /** Decodes the block at {@code src[off ..)} into {@code dst[dstOff .. dstOff + 256)}. */
    @Override
    protected void decodeBlock(MemorySegment src, long off, float[] dst, int dstOff) {
        float d = HalfFloats.readF16(src, off + D);
        float dmin = HalfFloats.readF16(src, off + DMIN);
        long scales = off + SCALES;
        for (int c = 0; c < 4; c++) {
            float d1 = d * KQuants.scale6(src, scales, 2 * c);
            float m1 = dmin * KQuants.min6(src, scales, 2 * c);
            float d2 = d * KQuants.scale6(src, scales, 2 * c + 1);
            float m2 = dmin * KQuants.min6(src, scales, 2 * c + 1);
            long qs = off + QS + 32L * c;
            int y = dstOff + 64 * c;
            for (int l = 0; l < 32; l++) {
                int b = src.get(BYTE, qs + l) & 0xFF;
                dst[y + l] = d1 * (b & 0x0F) - m1;
                dst[y + 32 + l] = d2 * (b >>> 4) - m2;
            }
        }
    }

    /**
     * Encodes {@code x[xOff .. xOff + 256)} following {@code quantize_row_q4_K_ref}: per sub-block a weighted
     * scale + min fit ({@link KQuants#fitScaleMin}, weights {@code rms + |x|}), scales and mins quantized to
     * 6 bits against their maxima, then every value re-rounded against the stored scales.
     */
    @Override
    protected void encodeBlock(float[] x, int xOff, MemorySegment dst, long off) {
        KQuants.Scratch s = KQuants.SCRATCH.get();
        quantize(x, xOff, dst, off, 15, -1f, 0.1f, 20, s);
        long qs = off + QS;
        int[] levels = s.levels;
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                dst.set(BYTE, qs + 32L * c + l, (byte) (levels[64 * c + l] | (levels[64 * c + 32 + l] << 4)));
            }
        }
    }

    /**
     * The part Q4_K and Q5_K share: fits, writes {@code d}, {@code dmin} and the 12 scale bytes, and leaves the
     * final levels (0..{@code nmax}) in {@code s.levels}; the caller packs them.
     */
    static void quantize(float[] x, int xOff, MemorySegment dst, long off, int nmax, float rmin, float rdelta,
                         int nstep, KQuants.Scratch s) {
        float[] scales = s.scales, mins = s.mins, weights = s.weights;
        int[] levels = s.levels;
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            int base = xOff + 32 * j;
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[base + l] * x[base + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[base + l]);
            scales[j] = KQuants.fitScaleMin(32, nmax, x, base, weights, levels, 32 * j, s.levelsAux, mins, j,
                    rmin, rdelta, nstep);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        int[] ls = s.scaleLevels, lm = s.minLevels;
        for (int j = 0; j < 8; j++) {
            // ggml stores the rounded value in a uint8_t before clamping to 63
            ls[j] = Math.min(63, KQuants.nearestInt(invScale * scales[j]) & 0xFF);
            lm[j] = Math.min(63, KQuants.nearestInt(invMin * mins[j]) & 0xFF);
        }
        KQuants.packScalesMins(ls, lm, dst, off + SCALES);
        HalfFloats.writeF16(dst, off + D, maxScale / 63f);
        HalfFloats.writeF16(dst, off + DMIN, maxMin / 63f);

        float dAll = HalfFloats.readF16(dst, off + D);
        float dminAll = HalfFloats.readF16(dst, off + DMIN);
        for (int j = 0; j < 8; j++) {
            float d = dAll * ls[j];
            if (d == 0) continue; // keep the fit's levels, as ggml does
            float dm = dminAll * lm[j];
            for (int i = 0; i < 32; i++) {
                levels[32 * j + i] = Math.clamp(KQuants.nearestInt((x[xOff + 32 * j + i] + dm) / d), 0, nmax);
            }
        }
    }

    @Override
    public int[] scaleOffsets() {
        return new int[] {D, DMIN};
    }

    @Override
    protected RowKernel newKernel() {
        return new Q4_KKernel();
    }
}
