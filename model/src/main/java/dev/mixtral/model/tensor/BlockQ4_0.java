package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.BYTE;

import dev.mixtral.model.kernel.Q4_0Kernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/**
 * ggml's {@code block_q4_0}: 32 values in 18 bytes — an fp16 scale {@code d}, then 16 bytes of nibbles.
 * Byte {@code j} holds value {@code j} in its low nibble and value {@code j + 16} in its high nibble;
 * a nibble {@code q} stands for {@code (q - 8) * d}.
 */
public final class BlockQ4_0 extends BlockFormat {
    public static final int VALUES = 32;
    public static final int BYTES = 18;
    /** Byte offset of the scale {@code d} (fp16) and of the 16 nibble bytes. */
    public static final int D = 0, QS = 2;

    BlockQ4_0() {
        super(VALUES, BYTES, 2); // LLAMA_FTYPE_MOSTLY_Q4_0
    }

    /** Decodes the block at {@code src[off ..)} into {@code dst[dstOff .. dstOff + 32)}. */
    @Override
    protected void decodeBlock(MemorySegment src, long off, float[] dst, int dstOff) {
        float d = HalfFloats.readF16(src, off + D);
        long qs = off + QS;
        for (int j = 0; j < VALUES / 2; j++) {
            int b = src.get(BYTE, qs + j) & 0xFF;
            dst[dstOff + j] = ((b & 0x0F) - 8) * d;
            dst[dstOff + j + VALUES / 2] = ((b >>> 4) - 8) * d;
        }
    }

    /**
     * Encodes {@code src[srcOff .. srcOff + 32)} as {@code quantize_row_q4_0_ref} does: {@code max} is the signed
     * value of largest magnitude (the first on ties), {@code d = max / -8}, {@code q = min(15, (int) (x/d + 8.5))}.
     */
    @Override
    protected void encodeBlock(float[] src, int srcOff, MemorySegment dst, long off) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < VALUES; j++) {
            float v = src[srcOff + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        HalfFloats.writeF16(dst, off + D, d);
        long qs = off + QS;
        for (int j = 0; j < VALUES / 2; j++) {
            int lo = Math.min(15, (int) (src[srcOff + j] * id + 8.5f));
            int hi = Math.min(15, (int) (src[srcOff + j + VALUES / 2] * id + 8.5f));
            dst.set(BYTE, qs + j, (byte) (lo | (hi << 4)));
        }
    }

    @Override
    public int[] scaleOffsets() {
        return new int[] {D};
    }

    @Override
    protected RowKernel newKernel() {
        return new Q4_0Kernel();
    }
}
