package dev.mixtral.model.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The tensor element types this project reads and writes: each registers its {@link BlockFormat} under
 * ggml's numeric id (as stored in GGUF). {@code blockSize} elements are stored in {@code blockBytes} bytes.
 */
public enum GgmlType {
    F32(0, new BlockF32()),
    F16(1, new BlockF16()),
    Q4_0(2, new BlockQ4_0()),
    Q8_0(8, new BlockQ8_0()),
    Q4_K(12, new BlockQ4_K()),
    Q5_K(13, new BlockQ5_K()),
    Q6_K(14, new BlockQ6_K()),
    BF16(30, new BlockBF16());

    public final int id;
    public final int blockSize;
    public final int blockBytes;
    private final BlockFormat format;

    GgmlType(int id, BlockFormat format) {
        this.id = id;
        this.format = format;
        this.blockSize = format.blockSize();
        this.blockBytes = format.blockBytes();
    }

    /** How this type stores, decodes and encodes values, and its kernels. */
    public BlockFormat format() {
        return format;
    }

    /** Bytes taken by {@code elements} values; {@code elements} must be a multiple of the block size. */
    public long bytesFor(long elements) {
        return blocks(elements) * blockBytes;
    }

    private long blocks(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    this + " stores blocks of " + blockSize + " values; " + elements + " is not a multiple");
        }
        return elements / blockSize;
    }

    /**
     * Decodes {@code n} values (a multiple of {@code blockSize}) stored at byte {@code offset} of {@code src}
     * into {@code dst[dstOff .. dstOff + n)}: the exact value of every weight (see {@link BlockFormat}).
     */
    public void decode(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        format.decodeBlocks(src, offset, dst, dstOff, (int) blocks(n));
    }

    /**
     * Encodes {@code src[srcOff .. srcOff + n)} ({@code n} a multiple of {@code blockSize}) into
     * {@code bytesFor(n)} bytes at {@code dst[dstOffset ..)}.
     */
    public void encode(float[] src, int srcOff, int n, MemorySegment dst, long dstOffset) {
        Objects.checkFromIndexSize(srcOff, n, src.length);
        format.encodeBlocks(src, srcOff, (int) blocks(n), dst, dstOffset);
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** The type with ggml id {@code id}, or null when this build does not read it. */
    public static GgmlType byId(int id) {
        for (GgmlType t : values()) {
            if (t.id == id) return t;
        }
        return null;
    }

    public static GgmlType byName(String name) {
        for (GgmlType t : values()) {
            if (t.name().equalsIgnoreCase(name)) return t;
        }
        throw new IllegalArgumentException("unknown tensor type '" + name + "' (known: " + supported() + ")");
    }

    public static String supported() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
