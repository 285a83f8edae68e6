package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.BYTE;

import dev.mixtral.model.kernel.Q6_KKernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/**
 * ggml's {@code block_q6_K}: 256 values in 210 bytes, as 16 sub-blocks of 16 with signed 8-bit scales.
 *
 * <pre>
 *    0  ql     128 B low 4 bits; in half h (values 128·h ..): byte 64·h + l holds value l (low nibble) and
 *                    value 64 + l (high nibble), byte 64·h + 32 + l holds values 32 + l and 96 + l
 *  128  qh      64 B high 2 bits; byte 32·h + l holds values l, 32 + l, 64 + l, 96 + l in bits 0-1, 2-3, 4-5, 6-7
 *  192  scales  16 B int8 scale of each sub-block of 16
 *  208  d      fp16  super-block scale
 * </pre>
 *
 * Value {@code i} is {@code (d · scales[i/16]) · (q − 32)} with {@code q} in 0..63.
 */
public final class BlockQ6_K extends BlockFormat {
    public static final int VALUES = 256;
    public static final int BYTES = 210;
    public static final int QL = 0, QH = 128, SCALES = 192, D = 208;

    BlockQ6_K() {
        super(VALUES, BYTES, 18); // LLAMA_FTYPE_MOSTLY_Q6_K
    }

    /** Decodes the block at {@code src[off ..)} into {@code dst[dstOff .. dstOff + 256)}. */
    @Override
    protected void decodeBlock(MemorySegment src, long off, float[] dst, int dstOff) {
        float d = HalfFloats.readF16(src, off + D);
        for (int h = 0; h < 2; h++) {
            long ql = off + QL + 64L * h, qh = off + QH + 32L * h, sc = off + SCALES + 8L * h;
            int y = dstOff + 128 * h;
            for (int is = 0; is < 2; is++) {
                // ggml computes d * sc * q left to right; d * sc (fp16 × int8) is exact, so hoisting it changes nothing
                float s1 = d * src.get(BYTE, sc + is), s2 = d * src.get(BYTE, sc + is + 2);
                float s3 = d * src.get(BYTE, sc + is + 4), s4 = d * src.get(BYTE, sc + is + 6);
                for (int l = 16 * is; l < 16 * is + 16; l++) {
                    int a = src.get(BYTE, ql + l) & 0xFF;
                    int b = src.get(BYTE, ql + 32 + l) & 0xFF;
                    int hb = src.get(BYTE, qh + l) & 0xFF;
                    dst[y + l] = s1 * (((a & 0x0F) | ((hb & 3) << 4)) - 32);
                    dst[y + 32 + l] = s2 * (((b & 0x0F) | (((hb >>> 2) & 3) << 4)) - 32);
                    dst[y + 64 + l] = s3 * (((a >>> 4) | (((hb >>> 4) & 3) << 4)) - 32);
                    dst[y + 96 + l] = s4 * (((b >>> 4) | (((hb >>> 6) & 3) << 4)) - 32);
                }
            }
        }
    }

    /**
     * Encodes {@code x[xOff .. xOff + 256)} following {@code quantize_row_q6_K_ref}: a symmetric x²-weighted fit
     * per sub-block of 16 ({@link KQuants#fitSymmetric}), the 16 scales quantized to int8 against the largest,
     * then every value re-rounded against the stored scales.
     */
    @Override
    protected void encodeBlock(float[] x, int xOff, MemorySegment dst, long off) {
        KQuants.Scratch s = KQuants.SCRATCH.get();
        float[] scales = s.scales;
        int[] levels = s.levels;
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = KQuants.fitSymmetric(16, 32, x, xOff + 16 * ib, levels, 16 * ib);
            scales[ib] = scale;
            if (Math.abs(scale) > maxAbsScale) {
                maxAbsScale = Math.abs(scale);
                maxScale = scale;
            }
        }
        if (maxAbsScale < KQuants.GROUP_MAX_EPS) {
            dst.asSlice(off, BYTES).fill((byte) 0);
            return;
        }
        float iscale = -128f / maxScale;
        HalfFloats.writeF16(dst, off + D, 1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            dst.set(BYTE, off + SCALES + ib, (byte) Math.min(127, KQuants.nearestInt(iscale * scales[ib])));
        }
        float dAll = HalfFloats.readF16(dst, off + D);
        for (int j = 0; j < 16; j++) {
            float d = dAll * dst.get(BYTE, off + SCALES + j);
            if (d == 0) continue; // keep the fit's levels, as ggml does
            for (int i = 0; i < 16; i++) {
                levels[16 * j + i] = Math.clamp(KQuants.nearestInt(x[xOff + 16 * j + i] / d), -32, 31) + 32;
            }
        }
        for (int h = 0; h < 2; h++) {
            long ql = off + QL + 64L * h, qh = off + QH + 32L * h;
            int L = 128 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = levels[L + l], q2 = levels[L + 32 + l], q3 = levels[L + 64 + l], q4 = levels[L + 96 + l];
                dst.set(BYTE, ql + l, (byte) ((q1 & 0x0F) | ((q3 & 0x0F) << 4)));
                dst.set(BYTE, ql + 32 + l, (byte) ((q2 & 0x0F) | ((q4 & 0x0F) << 4)));
                dst.set(BYTE, qh + l, (byte) ((q1 >>> 4) | ((q2 >>> 4) << 2) | ((q3 >>> 4) << 4) | ((q4 >>> 4) << 6)));
            }
        }
    }

    @Override
    public int[] scaleOffsets() {
        return new int[] {D};
    }

    @Override
    protected RowKernel newKernel() {
        return new Q6_KKernel();
    }
}
