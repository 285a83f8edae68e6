package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.SHORT_LE;

import dev.mixtral.model.kernel.HalfKernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/** ggml's BF16: the top 16 bits of an f32 per value; decoding is exact, encoding rounds to nearest even. */
final class BlockBF16 extends ScalarFormat {
    BlockBF16() {
        super(2, 32); // LLAMA_FTYPE_MOSTLY_BF16
    }

    @Override
    void decodeBlocks(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = HalfFloats.bf16ToF32(src.get(SHORT_LE, offset + 2L * i));
    }

    @Override
    void encodeBlocks(float[] src, int srcOff, int n, MemorySegment dst, long dstOffset) {
        for (int i = 0; i < n; i++) dst.set(SHORT_LE, dstOffset + 2L * i, HalfFloats.f32ToBf16(src[srcOff + i]));
    }

    @Override
    protected RowKernel newKernel() {
        return new HalfKernel(true);
    }
}
