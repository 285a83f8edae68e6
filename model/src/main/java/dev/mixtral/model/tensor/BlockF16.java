package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.SHORT_LE;

import dev.mixtral.model.kernel.HalfKernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/** ggml's F16: one IEEE half per value; decoding is exact, encoding rounds to nearest even. */
final class BlockF16 extends ScalarFormat {
    BlockF16() {
        super(2, 1); // LLAMA_FTYPE_MOSTLY_F16
    }

    @Override
    void decodeBlocks(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = HalfFloats.f16ToF32(src.get(SHORT_LE, offset + 2L * i));
    }

    @Override
    void encodeBlocks(float[] src, int srcOff, int n, MemorySegment dst, long dstOffset) {
        for (int i = 0; i < n; i++) dst.set(SHORT_LE, dstOffset + 2L * i, HalfFloats.f32ToF16(src[srcOff + i]));
    }

    @Override
    protected RowKernel newKernel() {
        return new HalfKernel(false);
    }
}
