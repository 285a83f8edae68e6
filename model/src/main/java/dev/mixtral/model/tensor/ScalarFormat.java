package dev.mixtral.model.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A format of one value per block (F32, F16, BF16): a row is converted value by value in one bulk loop, so
 * the subclasses implement {@link #decodeBlocks} and {@link #encodeBlocks} and a block is a row of one.
 */
abstract class ScalarFormat extends BlockFormat {
    ScalarFormat(int bytes, int fileType) {
        super(1, bytes, fileType);
    }

    @Override
    protected final void decodeBlock(MemorySegment src, long off, float[] dst, int dstOff) {
        decodeBlocks(src, off, dst, dstOff, 1);
    }

    @Override
    protected final void encodeBlock(float[] src, int srcOff, MemorySegment dst, long off) {
        encodeBlocks(src, srcOff, 1, dst, off);
    }

    @Override
    abstract void decodeBlocks(MemorySegment src, long offset, float[] dst, int dstOff, int n);

    @Override
    abstract void encodeBlocks(float[] src, int srcOff, int n, MemorySegment dst, long dstOffset);
}
