package dev.mixtral.model.tensor;

import dev.mixtral.model.kernel.MatMul;
import dev.mixtral.model.kernel.RowKernel;

import java.lang.foreign.MemorySegment;

/**
 * A rows × cols weight matrix stored row-major in any {@link GgmlType}, viewed in place in a mapped file.
 * Multiplication runs the fused kernels of {@link MatMul}: rows are widened in registers straight from
 * the segment, and the result for a token is the same whatever the batch it is in, and whatever the
 * thread count.
 */
public final class WeightMatrix {
    /** {@code -Dmixtral.matmul=reference} selects the scalar decode-then-dot path, for before/after measurements. */
    private static final boolean REFERENCE = "reference".equals(System.getProperty("mixtral.matmul"));

    private final String name;
    private final GgmlType type;
    private final int rows;
    private final int cols;
    private final long rowBytes;
    private final MemorySegment data;

    public WeightMatrix(String name, GgmlType type, int rows, int cols, MemorySegment data) {
        this.name = name;
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type.bytesFor(cols);
        if (data.byteSize() != rowBytes * rows) {
            throw new IllegalArgumentException(name + ": " + rows + "×" + cols + " " + type + " needs "
                    + rowBytes * rows + " bytes, got " + data.byteSize());
        }
        this.data = data;
    }

    /** Views a 2-D tensor (ggml shape {cols, rows}) as a matrix. */
    public static WeightMatrix of(Tensor t) {
        long[] s = t.shape();
        long rows = s.length == 1 ? 1 : t.elements() / s[0];
        return new WeightMatrix(t.name(), t.type(), Math.toIntExact(rows), Math.toIntExact(s[0]), t.data());
    }

    public String name() { return name; }
    public GgmlType type() { return type; }
    public int rows() { return rows; }
    public int cols() { return cols; }
    public MemorySegment data() { return data; }

    /** Decodes row {@code r} into {@code dst[dstOff .. dstOff + cols)}. */
    public void row(int r, float[] dst, int dstOff) {
        type.decode(data, r * rowBytes, dst, dstOff, cols);
    }

    /**
     * out[b·rows + r] = Σ_c W[r][c] · x[b·cols + c] for every token b of the batch.
     * {@code x} holds {@code batch} rows of {@code cols}; {@code out} receives {@code batch} rows of {@code rows}.
     * Each result is bit-identical whatever the batch, the other tokens in it, the thread count and the
     * machine (see {@link RowKernel} for the summation order).
     */
    public void multiply(float[] x, int batch, float[] out) {
        if (REFERENCE) {
            MatMul.multiplyReference(type, data, rows, cols, x, batch, out);
        } else {
            MatMul.multiply(type, data, rows, cols, x, batch, out);
        }
    }

    @Override
    public String toString() {
        return name + " " + type + " " + rows + "×" + cols;
    }
}
