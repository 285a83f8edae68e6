package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.BYTE;

import dev.mixtral.model.kernel.Q8_0Kernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/**
 * ggml's {@code block_q8_0}: 32 values in 34 bytes — an fp16 scale {@code d}, then 32 int8 quants;
 * value {@code j} is {@code qs[j] * d}.
 */
public final class BlockQ8_0 extends BlockFormat {
    public static final int VALUES = 32;
    public static final int BYTES = 34;
    /** Byte offset of the scale {@code d} (fp16) and of the quants (int8 each). */
    public static final int D = 0, QS = 2;

    BlockQ8_0() {
        super(VALUES, BYTES, 7); // LLAMA_FTYPE_MOSTLY_Q8_0
    }

    /** Decodes the block at {@code src[off ..)} into {@code dst[dstOff .. dstOff + 32)}. */
    @Override
    protected void decodeBlock(MemorySegment src, long off, float[] dst, int dstOff) {
        float d = HalfFloats.readF16(src, off + D);
        long qs = off + QS;
        for (int j = 0; j < VALUES; j++) {
            dst[dstOff + j] = src.get(BYTE, qs + j) * d;
        }
    }

    /**
     * Encodes {@code src[srcOff .. srcOff + 32)} as {@code quantize_row_q8_0_ref} does: {@code d = amax / 127},
     * {@code q = roundf(x * (1/d))} (half away from zero).
     */
    @Override
    protected void encodeBlock(float[] src, int srcOff, MemorySegment dst, long off) {
        float amax = 0f;
        for (int j = 0; j < VALUES; j++) {
            amax = Math.max(amax, Math.abs(src[srcOff + j]));
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        HalfFloats.writeF16(dst, off + D, d);
        long qs = off + QS;
        for (int j = 0; j < VALUES; j++) {
            dst.set(BYTE, qs + j, (byte) roundHalfAway(src[srcOff + j] * id));
        }
    }

    /** C's {@code roundf}: nearest integer, halfway cases away from zero. */
    static int roundHalfAway(float x) {
        return (int) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
    }

    @Override
    public int[] scaleOffsets() {
        return new int[] {D};
    }

    @Override
    protected RowKernel newKernel() {
        return new Q8_0Kernel();
    }
}
