package dev.mixtral.model.tensor;

import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/**
 * How one tensor type stores its values: {@link #blockSize} values in {@link #blockBytes} bytes, how a block
 * decodes to f32 and encodes from f32, and which fused kernels multiply its rows. Each type has one subclass
 * ({@code Block*}), registered with its ggml id in {@link GgmlType}, which checks the arguments and is what
 * the rest of the code calls. A new format is a subclass, its {@link RowKernel}, and one constant in
 * {@link GgmlType}.
 *
 * <p>Decoding computes what ggml's {@code dequantize_row_*} computes, with the same float operations in the
 * same order (and no fused multiply-add), so the results are bit-identical to ggml's reference C code: it is
 * the exact value of every weight, used by the forward pass and as the oracle for the vector kernels.
 * Encoding gives the bytes of llama.cpp's reference quantizers ({@code quantize_row_*_ref}, what
 * {@code llama-quantize} writes without an importance matrix); the 16-bit floats round to nearest even.
 * Neither allocates per call.
 */
public abstract class BlockFormat {
    private final int blockSize;
    private final int blockBytes;
    private final int fileType;
    /** Made on first use, so that reading a file's types does not load the Vector API. */
    private volatile RowKernel kernel;

    /**
     * @param fileType llama.cpp's {@code general.file_type} ({@code llama_ftype}) for a file whose matrices are
     *                 stored in this format
     */
    protected BlockFormat(int blockSize, int blockBytes, int fileType) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.fileType = fileType;
    }

    public final int blockSize() {
        return blockSize;
    }

    public final int blockBytes() {
        return blockBytes;
    }

    public final int fileType() {
        return fileType;
    }

    /** Decodes the block at {@code src[off ..)} into {@code dst[dstOff .. dstOff + blockSize)}. */
    protected abstract void decodeBlock(MemorySegment src, long off, float[] dst, int dstOff);

    /** Encodes {@code src[srcOff .. srcOff + blockSize)} into the {@code blockBytes} at {@code dst[off ..)}. */
    protected abstract void encodeBlock(float[] src, int srcOff, MemorySegment dst, long off);

    /**
     * The byte offsets of a block's fp16 scales. Every other byte of a block holds quants, any value of which is
     * valid, so random bytes with ordinary scales at these offsets make a valid block (the benchmarks' weights).
     */
    public int[] scaleOffsets() {
        return new int[0];
    }

    /** A new instance of this format's kernels. */
    protected abstract RowKernel newKernel();

    /** Decodes {@code blocks} consecutive blocks; unblocked formats override this with a bulk loop. */
    void decodeBlocks(MemorySegment src, long offset, float[] dst, int dstOff, int blocks) {
        for (int b = 0; b < blocks; b++) {
            decodeBlock(src, offset + (long) b * blockBytes, dst, dstOff + b * blockSize);
        }
    }

    /** Encodes {@code blocks} consecutive blocks; unblocked formats override this with a bulk loop. */
    void encodeBlocks(float[] src, int srcOff, int blocks, MemorySegment dst, long dstOffset) {
        for (int b = 0; b < blocks; b++) {
            encodeBlock(src, srcOff + b * blockSize, dst, dstOffset + (long) b * blockBytes);
        }
    }

    /** The fused kernels that multiply rows stored in this format (one shared, stateless instance). */
    public final RowKernel kernel() {
        RowKernel k = kernel;
        if (k == null) kernel = k = newKernel(); // a racing thread may make a second one: harmless
        return k;
    }
}
