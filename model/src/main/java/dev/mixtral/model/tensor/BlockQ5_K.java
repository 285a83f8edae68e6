package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.BYTE;

import dev.mixtral.model.kernel.Q5_KKernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/**
 * ggml's {@code block_q5_K}: 256 values in 176 bytes, as 8 sub-blocks of 32.
 *
 * <pre>
 *   0  d      fp16  super-block scale of the sub-block scales
 *   2  dmin   fp16  super-block scale of the sub-block mins
 *   4  scales 12 B  eight 6-bit scales and mins, packed as in Q4_K
 *  16  qh     32 B  fifth bits: bit 2·c of byte l belongs to value 64·c + l, bit 2·c+1 to value 64·c + 32 + l
 *  48  qs     128 B low nibbles, laid out as Q4_K's
 * </pre>
 *
 * Value {@code i} of sub-block {@code j} is {@code (d·sc[j]) · q − (dmin·m[j])} with {@code q} in 0..31.
 */
public final class BlockQ5_K extends BlockFormat {
    public static final int VALUES = 256;
    public static final int BYTES = 176;
    public static final int D = 0, DMIN = 2, SCALES = 4, QH = 16, QS = 48;

    BlockQ5_K() {
        super(VALUES, BYTES, 16); // LLAMA_FTYPE_MOSTLY_Q5_K_S
    }

    /** Decodes the block at {@code src[off ..)} into {@code dst[dstOff .. dstOff + 256)}. */
    @Override
    protected void decodeBlock(MemorySegment src, long off, float[] dst, int dstOff) {
        float d = HalfFloats.readF16(src, off + D);
        float dmin = HalfFloats.readF16(src, off + DMIN);
        long scales = off + SCALES;
        long qh = off + QH;
        for (int c = 0; c < 4; c++) {
            float d1 = d * KQuants.scale6(src, scales, 2 * c);
            float m1 = dmin * KQuants.min6(src, scales, 2 * c);
            float d2 = d * KQuants.scale6(src, scales, 2 * c + 1);
            float m2 = dmin * KQuants.min6(src, scales, 2 * c + 1);
            long qs = off + QS + 32L * c;
            int y = dstOff + 64 * c;
            for (int l = 0; l < 32; l++) {
                int b = src.get(BYTE, qs + l) & 0xFF;
                int h = (src.get(BYTE, qh + l) & 0xFF) >>> (2 * c);
                dst[y + l] = d1 * ((b & 0x0F) + ((h & 1) << 4)) - m1;
                dst[y + 32 + l] = d2 * ((b >>> 4) + ((h & 2) << 3)) - m2;
            }
        }
    }

    /**
     * Encodes {@code x[xOff .. xOff + 256)} following {@code quantize_row_q5_K_ref} (the Q4_K procedure with
     * 5-bit levels and a finer grid search).
     */
    @Override
    protected void encodeBlock(float[] x, int xOff, MemorySegment dst, long off) {
        KQuants.Scratch s = KQuants.SCRATCH.get();
        BlockQ4_K.quantize(x, xOff, dst, off, 31, -0.5f, 0.1f, 15, s);
        int[] levels = s.levels;
        long qs = off + QS, qh = off + QH;
        for (int l = 0; l < 32; l++) {
            int high = 0;
            for (int c = 0; c < 4; c++) {
                high |= (levels[64 * c + l] >>> 4) << (2 * c);
                high |= (levels[64 * c + 32 + l] >>> 4) << (2 * c + 1);
            }
            dst.set(BYTE, qh + l, (byte) high);
        }
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int lo = levels[64 * c + l] & 0x0F, hi = levels[64 * c + 32 + l] & 0x0F;
                dst.set(BYTE, qs + 32L * c + l, (byte) (lo | (hi << 4)));
            }
        }
    }

    @Override
    public int[] scaleOffsets() {
        return new int[] {D, DMIN};
    }

    @Override
    protected RowKernel newKernel() {
        return new Q5_KKernel();
    }
}
