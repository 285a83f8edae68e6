package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.Dequantize;
import dev.mixtral.model.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * {@code out[t·rows + r] = W[r] · x[t·cols ..]} for a weight matrix stored row-major in any {@link GgmlType},
 * with the fused kernels of {@link RowKernel}.
 *
 * <p>Schedule: rows are split into ranges of whole 4-row tiles over the {@link Parallel} pool (or run on the
 * calling thread when the matrix is small); within a range, blocks of {@value #ROW_BLOCK} rows are
 * multiplied by all tokens before moving on, so a block's weights are read from memory once per call and
 * from cache for the other tokens. Tokens go 4 at a time through {@link RowKernel#tile2x4} (each widened
 * weight group feeds 4 tokens); a single token, and a last odd token, through {@link RowKernel#rows4}.
 * None of this changes any result: a (row, token) dot is the same sequence of float operations in every
 * kernel (see {@link RowKernel}).
 */
public final class MatMul {
    /** Rows multiplied by all tokens before moving on: 16 rows of 14336 Q8_0 columns are 240 KB. */
    static final int ROW_BLOCK = 16;
    /** Multiply-adds below which a call stays on the calling thread (a fork-join round trip costs ~10 µs). */
    static final long INLINE_MACS = 1L << 18;

    private MatMul() {}

    /**
     * Multiplies the {@code rows × cols} matrix of {@code type} stored at {@code w} (row {@code r} at byte
     * {@code r · type.bytesFor(cols)}) by {@code batch} tokens.
     */
    public static void multiply(GgmlType type, MemorySegment w, int rows, int cols, float[] x, int batch, float[] out) {
        long rowBytes = type.bytesFor(cols);
        if (w.byteSize() < rowBytes * rows) {
            throw new IllegalArgumentException(rows + "×" + cols + " " + type + " needs " + rowBytes * rows
                    + " bytes, got " + w.byteSize());
        }
        Objects.checkFromIndexSize(0, (long) batch * cols, x.length);
        Objects.checkFromIndexSize(0, (long) batch * rows, out.length);
        if (rows == 0 || batch == 0) return;
        RowKernel k = RowKernel.of(type);
        int tiles = (rows + 3) / 4;
        long macs = (long) rows * cols * batch;
        if (macs < INLINE_MACS || Parallel.threads() == 1 || tiles == 1) {
            run(k, w, rowBytes, rows, cols, x, batch, out, 0, rows);
            return;
        }
        Parallel.forRange(tiles, 1, (from, to) ->
                run(k, w, rowBytes, rows, cols, x, batch, out, 4 * from, Math.min(rows, 4 * to)));
    }

    /** Rows {@code [from, to)} for every token. */
    static void run(RowKernel k, MemorySegment w, long rowBytes, int rows, int cols, float[] x, int batch,
                    float[] out, int from, int to) {
        float[] pad = new float[8]; // results of a tile's padding rows (one array per range, not per row)
        for (int r0 = from; r0 < to; r0 += ROW_BLOCK) {
            int r1 = Math.min(to, r0 + ROW_BLOCK);
            int t = 0;
            for (; t + 4 <= batch; t += 4) tokens4(k, w, rowBytes, rows, cols, x, out, r0, r1, t, t + 1, t + 2, t + 3, pad);
            switch (batch - t) {
                case 3 -> tokens4(k, w, rowBytes, rows, cols, x, out, r0, r1, t, t + 1, t + 2, t + 2, pad);
                case 2 -> tokens4(k, w, rowBytes, rows, cols, x, out, r0, r1, t, t + 1, t + 1, t + 1, pad);
                case 1 -> token1(k, w, rowBytes, rows, cols, x, out, r0, r1, t, pad);
                default -> { }
            }
        }
    }

    /** Rows {@code [r0, r1)} × tokens t0..t3 (which may repeat), by 2-row tiles. */
    private static void tokens4(RowKernel k, MemorySegment w, long rowBytes, int rows, int cols, float[] x,
                                float[] out, int r0, int r1, int t0, int t1, int t2, int t3, float[] pad) {
        int x0 = t0 * cols, x1 = t1 * cols, x2 = t2 * cols, x3 = t3 * cols;
        int r = r0;
        for (; r + 2 <= r1; r += 2) {
            long p = r * rowBytes;
            k.tile2x4(w, p, p + rowBytes, x, x0, x1, x2, x3, cols, out, t0 * rows + r, t1 * rows + r, t2 * rows + r, t3 * rows + r);
        }
        if (r < r1) { // one row left: pad the tile with a copy of it
            long p = r * rowBytes;
            k.tile2x4(w, p, p, x, x0, x1, x2, x3, cols, pad, 0, 2, 4, 6);
            out[t0 * rows + r] = pad[0];
            out[t1 * rows + r] = pad[2];
            out[t2 * rows + r] = pad[4];
            out[t3 * rows + r] = pad[6];
        }
    }

    /** Rows {@code [r0, r1)} × token t, by 4-row tiles. */
    private static void token1(RowKernel k, MemorySegment w, long rowBytes, int rows, int cols, float[] x,
                               float[] out, int r0, int r1, int t, float[] pad) {
        int xo = t * cols;
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            long p = r * rowBytes;
            k.rows4(w, p, p + rowBytes, p + 2 * rowBytes, p + 3 * rowBytes, x, xo, cols, out, t * rows + r);
        }
        if (r < r1) { // 1-3 rows left: repeat the last one
            long last = (r1 - 1) * rowBytes;
            long p0 = r * rowBytes;
            long p1 = Math.min(p0 + rowBytes, last), p2 = Math.min(p0 + 2 * rowBytes, last);
            k.rows4(w, p0, p1, p2, last, x, xo, cols, pad, 0);
            System.arraycopy(pad, 0, out, t * rows + r, r1 - r);
        }
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The path the kernels replaced, kept for before/after measurements ({@code -Dmixtral.matmul=reference}):
     * each row decoded by the scalar {@link Dequantize#row} into a per-thread array, then dotted with every
     * token by {@link VectorMath#dot}. Its sums are in a different order from the kernels'.
     */
    public static void multiplyReference(GgmlType type, MemorySegment w, int rows, int cols, float[] x, int batch, float[] out) {
        long rowBytes = type.bytesFor(cols);
        Parallel.forRange(rows, Math.max(1, 4096 / Math.max(1, batch)), (from, to) -> {
            float[] row = SCRATCH.get();
            if (row.length < cols) {
                row = new float[cols];
                SCRATCH.set(row);
            }
            for (int r = from; r < to; r++) {
                Dequantize.row(type, w, r * rowBytes, row, 0, cols);
                for (int b = 0; b < batch; b++) out[b * rows + r] = VectorMath.dot(row, 0, x, b * cols, cols);
            }
        });
    }
}
