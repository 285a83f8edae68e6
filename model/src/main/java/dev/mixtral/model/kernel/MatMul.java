package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * {@code out[t·rows + r] = W[r] · x[t·cols ..]} for a weight matrix stored row-major in any {@link GgmlType},
 * with the fused kernels of {@link RowKernel}.
 *
 * <p>Schedule: rows are split into ranges of whole 4-row tiles over the {@link Parallel} pool (or run on the
 * calling thread when the matrix is small); within a range, a block of rows (4 to {@value #ROW_BLOCK}, about
 * {@value #BLOCK_BYTES} bytes) is copied from the segment into the thread's {@code byte[]} and multiplied
 * by all tokens before moving on, so weights are read from memory once per call and from cache for the
 * other tokens. Tokens go 4 at a time through {@link RowKernel#tile2x4} (each widened
 * weight group feeds 4 tokens); a single token, and a last odd token, through {@link RowKernel#rows4}.
 * None of this changes any result: a (row, token) dot is the same sequence of float operations in every
 * kernel (see {@link RowKernel}).
 */
public final class MatMul {
    /** At most this many rows are copied and multiplied by all tokens before moving on. */
    static final int ROW_BLOCK = 16;
    /** The bytes of a block of rows, unless 4 rows are more: small enough for L1/L2 between copy and use. */
    static final long BLOCK_BYTES = 64 * 1024;
    /**
     * Multiply-adds below which a call stays on the calling thread: a fork-join round trip measured 10-50 µs
     * on 2 shared cores (waking parked workers), about what one core needs for 1M multiply-adds.
     */
    static final long INLINE_MACS = 1L << 20;

    private MatMul() {}

    /** The vector width the JIT prefers on this CPU (see {@link VectorWidth} for the width the kernels run at). */
    public static int preferredVectorBits() {
        return VectorWidth.PREFERRED_BITS;
    }

    /**
     * Whether {@link #multiply} runs this product on the calling thread: callers holding several such small
     * products can then run them side by side on the pool instead (one fork for all rather than none each).
     */
    public static boolean runsInline(int rows, int cols, int batch) {
        return (long) rows * cols * batch < INLINE_MACS || Parallel.threads() == 1 || rows <= 4;
    }

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
        float[] xk = arranged(k, x, batch, cols);
        int tiles = (rows + 3) / 4;
        if (runsInline(rows, cols, batch)) {
            run(k, w, rowBytes, rows, cols, xk, batch, out, 0, rows);
            return;
        }
        Parallel.forRange(tiles, 1, (from, to) ->
                run(k, w, rowBytes, rows, cols, xk, batch, out, 4 * from, Math.min(rows, 4 * to)));
    }

    /** The floats per token of the array the kernels read: its activations, then its block sums if the kernel reads them. */
    static int stride(RowKernel k, int cols) {
        return k.activationCopies() * (k.blockSumOrder() == null ? cols : cols + cols / 32);
    }

    /** The calling thread's copy of the activations in a kernel's {@link RowKernel#blockOrder}. */
    private static final ThreadLocal<float[]> ARRANGED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The {@code batch} tokens of {@code x} as the kernel reads them, in a per-thread buffer (or {@code x} itself
     * when the kernel reads them as they are): each 32-column block in its {@link RowKernel#blockOrder}, each
     * token followed by its {@link RowKernel#blockSumOrder block sums}, {@link #stride} floats apart, and each 8 of
     * these twice in a row for the kernels that read them so ({@link RowKernel#activationCopies}). The
     * workers of a call only read it; a thread runs one call at a time.
     */
    private static float[] arranged(RowKernel k, float[] x, int batch, int cols) {
        int[] order = k.blockOrder(), sums = k.blockSumOrder();
        if (order == null && sums == null && k.activationCopies() == 1) return x;
        float[] a = ARRANGED.get();
        int stride = stride(k, cols);
        if (a.length < batch * stride) {
            a = new float[batch * stride];
            ARRANGED.set(a);
        }
        if (k.activationCopies() == 1) {
            arrange(order, sums, x, batch, cols, stride, a);
            return a;
        }
        float[] once = COPIED_ONCE.get();
        int onceStride = stride / k.activationCopies();
        if (once.length < batch * onceStride) {
            once = new float[batch * onceStride];
            COPIED_ONCE.set(once);
        }
        arrange(order, sums, x, batch, cols, onceStride, once);
        for (int i = 0; i < batch * onceStride; i += 8) {
            System.arraycopy(once, i, a, 2 * i, 8);
            System.arraycopy(once, i, a, 2 * i + 8, 8);
        }
        return a;
    }

    /** {@link #arranged} before the activations' copies: into {@code a}, token t at {@code t · stride}. */
    private static final ThreadLocal<float[]> COPIED_ONCE = ThreadLocal.withInitial(() -> new float[0]);

    private static void arrange(int[] order, int[] sums, float[] x, int batch, int cols, int stride, float[] a) {
        for (int t = 0; t < batch; t++) {
            int src = t * cols, dst = t * stride;
            if (order == null) {
                System.arraycopy(x, src, a, dst, cols);
            } else {
                for (int b = 0; b < cols; b += 32) {
                    for (int i = 0; i < 32; i++) a[dst + b + i] = x[src + b + order[i]];
                }
            }
            if (sums != null) {
                for (int b = 0; b < cols / 32; b++) a[dst + cols + b] = blockSum(a, dst + 32 * (b & ~7 | sums[b & 7]));
            }
        }
    }

    /** The sum of the 32 arranged activations at {@code a[off ..)}, in {@link RowKernel#blockSumOrder}'s order. */
    static float blockSum(float[] a, int off) {
        float l0 = (a[off] + a[off + 8]) + (a[off + 16] + a[off + 24]), l1 = (a[off + 1] + a[off + 9]) + (a[off + 17] + a[off + 25]);
        float l2 = (a[off + 2] + a[off + 10]) + (a[off + 18] + a[off + 26]), l3 = (a[off + 3] + a[off + 11]) + (a[off + 19] + a[off + 27]);
        float l4 = (a[off + 4] + a[off + 12]) + (a[off + 20] + a[off + 28]), l5 = (a[off + 5] + a[off + 13]) + (a[off + 21] + a[off + 29]);
        float l6 = (a[off + 6] + a[off + 14]) + (a[off + 22] + a[off + 30]), l7 = (a[off + 7] + a[off + 15]) + (a[off + 23] + a[off + 31]);
        return ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7));
    }

    /** A compute thread's working memory: the current block of rows, and the kernels' accumulators. */
    private static final class Scratch {
        byte[] rows = new byte[0];
        final float[] lanes = new float[RowKernel.LANES];
    }

    private static final ThreadLocal<Scratch> WORK = ThreadLocal.withInitial(Scratch::new);

    /** Rows per block: a multiple of 4 whose bytes stay near {@value #BLOCK_BYTES}, between 4 and {@value #ROW_BLOCK}. */
    static int blockRows(long rowBytes) {
        return (int) Math.max(4, Math.min(ROW_BLOCK, BLOCK_BYTES / rowBytes & ~3L));
    }

    /** Rows {@code [from, to)} for every token. */
    static void run(RowKernel k, MemorySegment w, long rowBytes, int rows, int cols, float[] x, int batch,
                    float[] out, int from, int to) {
        Scratch s = WORK.get();
        int blockRows = blockRows(rowBytes);
        // the rows start RowKernel.ROW_SLACK bytes in and leave as many after them: room for the kernels' reads
        if (s.rows.length < blockRows * rowBytes + 2 * RowKernel.ROW_SLACK) {
            s.rows = new byte[Math.toIntExact(blockRows * rowBytes + 2 * RowKernel.ROW_SLACK)];
        }
        byte[] buf = s.rows;
        float[] lanes = s.lanes;
        int rb = (int) rowBytes, stride = stride(k, cols);
        if (batch == 1) from = direct(k, w, rowBytes, cols, x, out, from, to, lanes);
        for (int r0 = from; r0 < to; r0 += blockRows) {
            int n = Math.min(to - r0, blockRows);
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, r0 * rowBytes, buf, RowKernel.ROW_SLACK, n * rb);
            int t = 0;
            for (; t + 4 <= batch; t += 4) tokens4(k, buf, rb, n, cols, stride, x, out, rows, r0, t, t + 1, t + 2, t + 3, lanes);
            switch (batch - t) {
                case 3 -> tokens4(k, buf, rb, n, cols, stride, x, out, rows, r0, t, t + 1, t + 2, t + 2, lanes);
                case 2 -> { // two 1-token passes: fewer conversions and FMAs than a 4-token tile half of which repeats
                    token1(k, buf, rb, n, cols, stride, x, out, rows, r0, t, lanes);
                    token1(k, buf, rb, n, cols, stride, x, out, rows, r0, t + 1, lanes);
                }
                case 1 -> token1(k, buf, rb, n, cols, stride, x, out, rows, r0, t, lanes);
                default -> { }
            }
        }
    }

    /**
     * One token straight from the segment, when the kernel can: the whole 4-row tiles of rows {@code [from, to)}
     * (a short last tile goes through the copy, where repeating a row to fill the tile reads nothing outside the
     * buffer). Returns the first row left to do: {@code from} when the kernel has no direct variant.
     */
    private static int direct(RowKernel k, MemorySegment w, long rowBytes, int cols, float[] x, float[] out,
                              int from, int to, float[] lanes) {
        int r = from;
        for (; r + 4 <= to; r += 4) {
            long p = r * rowBytes;
            if (!k.rows4(w, p, p + rowBytes, p + 2 * rowBytes, p + 3 * rowBytes, x, 0, cols, lanes)) return r;
            for (int j = 0; j < 4; j++) out[r + j] = VectorMath.sumLanes(lanes, 8 * j); // types with a tail have no direct variant
        }
        return r;
    }

    /** The result of one (row, token) pair from its accumulator at {@code lanes[off ..)}. */
    private static float finish(RowKernel k, float[] lanes, int off, byte[] w, int p, float[] x, int xo, int cols) {
        float s = VectorMath.sumLanes(lanes, off);
        // only unblocked types with a column count not a multiple of 8 have a tail: skip the call (a
        // megamorphic one, as every type shares this site) for the others
        return (cols & 7) == 0 ? s : k.tail(s, w, p, x, xo, cols);
    }

    /**
     * The block's {@code n} rows (in {@code buf}, matrix rows {@code r0 ..}) × tokens t0..t3 (which may repeat),
     * by 2-row tiles; a last odd row is paired with itself.
     */
    private static void tokens4(RowKernel k, byte[] buf, int rb, int n, int cols, int stride, float[] x, float[] out, int rows,
                                int r0, int t0, int t1, int t2, int t3, float[] lanes) {
        for (int i = 0; i < n; i += 2) {
            int p0 = RowKernel.ROW_SLACK + i * rb, p1 = i + 1 < n ? p0 + rb : p0;
            k.tile2x4(buf, p0, p1, x, t0 * stride, t1 * stride, t2 * stride, t3 * stride, cols, lanes);
            boolean two = i + 1 < n;
            store(k, lanes, 0, buf, p0, p1, two, x, t0 * stride, cols, out, t0 * rows + r0 + i);
            store(k, lanes, 8, buf, p0, p1, two, x, t1 * stride, cols, out, t1 * rows + r0 + i);
            store(k, lanes, 16, buf, p0, p1, two, x, t2 * stride, cols, out, t2 * rows + r0 + i);
            store(k, lanes, 24, buf, p0, p1, two, x, t3 * stride, cols, out, t3 * rows + r0 + i);
        }
    }

    /** Stores token t's results of a 2 × 4 tile (its lanes at {@code lanes[off ..)} and {@code [32 + off ..)}). */
    private static void store(RowKernel k, float[] lanes, int off, byte[] buf, int p0, int p1, boolean second,
                              float[] x, int xo, int cols, float[] out, int o) {
        out[o] = finish(k, lanes, off, buf, p0, x, xo, cols);
        if (second) out[o + 1] = finish(k, lanes, 32 + off, buf, p1, x, xo, cols);
    }

    /** The block's {@code n} rows × token t, by 4-row tiles; a short last tile repeats its last row. */
    private static void token1(RowKernel k, byte[] buf, int rb, int n, int cols, int stride, float[] x, float[] out, int rows,
                               int r0, int t, float[] lanes) {
        int xo = t * stride;
        int last = RowKernel.ROW_SLACK + (n - 1) * rb;
        for (int i = 0; i < n; i += 4) {
            int p = RowKernel.ROW_SLACK + i * rb;
            k.rows4(buf, p, Math.min(p + rb, last), Math.min(p + 2 * rb, last), Math.min(p + 3 * rb, last), x, xo, cols, lanes);
            for (int j = 0; j < 4 && i + j < n; j++) {
                out[t * rows + r0 + i + j] = finish(k, lanes, 8 * j, buf, p + j * rb, x, xo, cols);
            }
        }
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * A scalar-decode path to measure the kernels against ({@code -Dmixtral.matmul=reference}):
     * each row decoded by the scalar {@link GgmlType#decode} into a per-thread array, then dotted with every
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
                type.decode(w, r * rowBytes, row, 0, cols);
                for (int b = 0; b < batch; b++) out[b * rows + r] = VectorMath.dot(row, 0, x, b * cols, cols);
            }
        });
    }
}
