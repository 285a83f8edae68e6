package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.FLOAT_LE;

import dev.mixtral.model.kernel.F32Kernel;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/** ggml's F32: one little-endian float per value, copied both ways. */
final class BlockF32 extends ScalarFormat {
    BlockF32() {
        super(4, 0); // LLAMA_FTYPE_ALL_F32
    }

    @Override
    void decodeBlocks(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        MemorySegment.copy(src, FLOAT_LE, offset, dst, dstOff, n);
    }

    @Override
    void encodeBlocks(float[] src, int srcOff, int n, MemorySegment dst, long dstOffset) {
        MemorySegment.copy(src, srcOff, dst, FLOAT_LE, dstOffset, n);
    }

    @Override
    protected RowKernel newKernel() {
        return new F32Kernel();
    }
}
