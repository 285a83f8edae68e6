package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.GgmlType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The fused kernels against the scalar reference ({@link GgmlType#decode} + a double-accumulated dot), on odd
 * shapes, random raw blocks (every quant value, negative and extreme scales), zeros and extreme blocks;
 * and bitwise invariance of every result under batching, batch position and thread count.
 */
class MatMulTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Batch sizes: every tile remainder, and more than one full tile. */
    private static final int[] BATCHES = {1, 2, 3, 4, 5, 6, 7, 17};

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    /** A column count for the type: odd multiples of the block, and non-multiples of 8 where allowed. */
    static int cols(GgmlType type, int variant) {
        if (type.blockSize == 1) return new int[] {67, 8, 1003, 3}[variant];
        int blocks = new int[] {3, 1, 5, 2}[variant];
        return blocks * type.blockSize;
    }

    enum Fill { RANDOM, ZEROS, EXTREME }

    /** rows × cols of {@code type}, at an odd address (so no load is aligned). */
    static MemorySegment matrix(GgmlType type, int rows, int cols, Fill fill, long seed) {
        long bytes = type.bytesFor(cols) * rows;
        MemorySegment w = Arena.ofAuto().allocate(bytes + 1).asSlice(1, bytes);
        Random rnd = new Random(seed);
        if (fill == Fill.ZEROS) return w;
        long n = (long) rows * cols;
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i++) w.set(F32, 4 * i, fill == Fill.EXTREME ? (i % 2 == 0 ? 3e18f : -3e18f) : (float) rnd.nextGaussian());
            }
            case F16 -> {
                for (long i = 0; i < n; i++) w.set(I16, 2 * i, fill == Fill.EXTREME ? (short) (i % 3 == 0 ? 0x7bff : i % 3 == 1 ? 0xfbff : 0x0001) : randomF16(rnd));
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) {
                    int e = fill == Fill.EXTREME ? 127 + 60 : 127 - 20 + rnd.nextInt(40);
                    int bits = (rnd.nextBoolean() ? 0x8000 : 0) | (e << 7) | rnd.nextInt(128);
                    if (fill == Fill.RANDOM && rnd.nextInt(50) == 0) bits &= 0x807f; // zero or subnormal
                    w.set(I16, 2 * i, (short) bits);
                }
            }
            default -> {
                for (long i = 0; i < bytes; i++) w.set(ValueLayout.JAVA_BYTE, i, (byte) (fill == Fill.EXTREME ? 0x80 : rnd.nextInt(256)));
                long blocks = bytes / type.blockBytes;
                for (long b = 0; b < blocks; b++) {
                    long off = b * type.blockBytes;
                    for (int scaleOff : scaleOffsets(type)) {
                        short s = fill == Fill.EXTREME ? (short) (b % 2 == 0 ? 0x7bff : 0xfbff) : randomScale(rnd);
                        w.set(I16, off + scaleOff, s);
                    }
                }
            }
        }
        return w;
    }

    private static int[] scaleOffsets(GgmlType type) {
        return switch (type) {
            case Q8_0, Q4_0 -> new int[] {0};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> new int[0];
        };
    }

    /** A finite fp16 of any sign and exponent, subnormals included. */
    private static short randomF16(Random rnd) {
        int e = rnd.nextInt(31);
        return (short) ((rnd.nextBoolean() ? 0x8000 : 0) | (e << 10) | rnd.nextInt(1024));
    }

    /** A block scale: mostly ordinary magnitudes of either sign, sometimes zero, tiny (subnormal) or large. */
    private static short randomScale(Random rnd) {
        return switch (rnd.nextInt(20)) {
            case 0 -> 0;
            case 1 -> (short) (rnd.nextBoolean() ? 0x0001 : 0x8003);
            case 2 -> (short) (rnd.nextBoolean() ? 0x7bff : 0xfbff);
            default -> Float.floatToFloat16((float) (rnd.nextGaussian() * 0.01));
        };
    }

    static float[] activations(int batch, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void kernelsAgreeWithTheScalarReference(GgmlType type) {
        int check = 0;
        for (Fill fill : Fill.values()) {
            for (int variant = 0; variant < 4; variant++) {
                for (int rows : new int[] {1, 2, 3, 5, 37}) {
                    int cols = cols(type, variant);
                    MemorySegment w = matrix(type, rows, cols, fill, 31L * rows + variant);
                    for (int batch : BATCHES) {
                        float[] x = activations(batch, cols, 7L * batch + rows);
                        float[] out = new float[batch * rows];
                        MatMul.multiply(type, w, rows, cols, x, batch, out);
                        assertCloseToReference(type, w, rows, cols, x, batch, out, fill + " " + rows + "×" + cols + " batch " + batch);
                        check++;
                    }
                }
            }
        }
        assertThat(check).isEqualTo(3 * 4 * 5 * BATCHES.length);
    }

    private static void assertCloseToReference(GgmlType type, MemorySegment w, int rows, int cols, float[] x, int batch,
                                               float[] out, String what) {
        float[] row = new float[cols];
        long rowBytes = type.bytesFor(cols);
        for (int r = 0; r < rows; r++) {
            type.decode(w, r * rowBytes, row, 0, cols);
            for (int t = 0; t < batch; t++) {
                double sum = 0, abs = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) row[c] * x[t * cols + c];
                    sum += p;
                    abs += Math.abs(p);
                }
                float got = out[t * rows + r];
                if (!(Math.abs(got - sum) <= 1e-5 * abs)) {
                    fail("%s %s row %d token %d: got %s, reference %s (Σ|w·x| = %s)", type, what, r, t, got, sum, abs);
                }
            }
        }
    }

    /**
     * Q8_0 and Q4_0 follow the rule their Javadoc documents, bit for bit, in every kernel shape: per block,
     * {@code s = 0; s = fma(q_g, x_g, s)} over its 4 groups of 8 lanes (Q8_0: lane j of group g is column
     * 4j + g; Q4_0: {@code q − 8}, groups based at columns 0, 16, 8, 24, lanes in byte order 0, 4, 1, 5, 2, 6,
     * 3, 7), then
     * {@code acc = fma(s, d, acc)}; result {@link VectorMath#sumLanes}.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0"})
    void blockScaledKernelsFollowTheirDocumentedRuleBitwise(GgmlType type) {
        int rows = 37, cols = cols(type, 2);
        for (Fill fill : Fill.values()) {
            MemorySegment w = matrix(type, rows, cols, fill, 17);
            assertFollowsBitwise(type, w, rows, cols, batch -> 23L * batch, fill.toString(),
                    (p, x, xo) -> blockRule(type, w, p, x, xo, cols));
        }
    }

    /** A documented rule in scalar code: the result for the row at byte {@code p} and the token at {@code x[xo ..)}. */
    interface Rule {
        float of(long p, float[] x, int xo);
    }

    /** {@link MatMul#multiply}'s results for every batch size of {@link #BATCHES} equal {@code rule}'s, bit for bit. */
    private static void assertFollowsBitwise(GgmlType type, MemorySegment w, int rows, int cols, java.util.function.IntToLongFunction seed,
                                             String what, Rule rule) {
        long rowBytes = type.bytesFor(cols);
        for (int batch : BATCHES) {
            float[] x = activations(batch, cols, seed.applyAsLong(batch));
            float[] out = new float[batch * rows];
            MatMul.multiply(type, w, rows, cols, x, batch, out);
            for (int r = 0; r < rows; r++) {
                for (int t = 0; t < batch; t++) {
                    float want = rule.of(r * rowBytes, x, t * cols);
                    if (Float.floatToRawIntBits(out[t * rows + r]) != Float.floatToRawIntBits(want)) {
                        fail("%s %s %d×%d batch %d row %d token %d: got %s, rule gives %s",
                                type, what, rows, cols, batch, r, t, out[t * rows + r], want);
                    }
                }
            }
        }
    }

    /** The documented Q8_0 / Q4_0 rule in scalar code. */
    private static float blockRule(GgmlType type, MemorySegment w, long p, float[] x, int xo, int cols) {
        float[] acc = new float[8];
        for (int b = 0; b < cols / 32; b++) {
            long blk = p + (long) b * type.blockBytes;
            float d = Float.float16ToFloat(w.get(I16, blk));
            float[] s = new float[8];
            for (int g = 0; g < 4; g++) {
                for (int l = 0; l < 8; l++) {
                    // Q8_0: lane l of group g is byte g of the block's l-th 4-byte int; Q4_0: group g's base column
                    // plus bytes 0, 4, 1, 5, 2, 6, 3, 7 of its 8-byte half
                    int c = type == GgmlType.Q8_0 ? 4 * l + g : new int[] {0, 16, 8, 24}[g] + new int[] {0, 4, 1, 5, 2, 6, 3, 7}[l];
                    float q = type == GgmlType.Q8_0
                            ? w.get(ValueLayout.JAVA_BYTE, blk + 2 + c)
                            : ((w.get(ValueLayout.JAVA_BYTE, blk + 2 + (c & 15)) & 0xFF) >> (c < 16 ? 0 : 4) & 0x0F) - 8;
                    s[l] = Math.fma(q, x[xo + 32 * b + c], s[l]);
                }
            }
            for (int l = 0; l < 8; l++) acc[l] = Math.fma(s[l], d, acc[l]);
        }
        return VectorMath.sumLanes(acc, 0);
    }

    /**
     * Q4_K and Q5_K follow the factored rule {@link Q4_KKernel} documents, bit for bit, in every kernel shape: per
     * super-block {@code acc = fma(−dmin·m, S, acc)} over lanes holding sub-blocks 0, 4, 1, 5, 2, 6, 3, 7 (S: their
     * activation sums), then per sub-block {@code t = q_0·x_0, t = fma(q_g, x_g, t)} over its 4 groups (lane l of
     * group g is column 4l + g) and {@code acc = fma(t, d·sc, acc)}; result {@link VectorMath#sumLanes}. Q6_K the same
     * without mins, per 32-value chunk with {@code q − 32} and lanes 0-3 and 4-7 scaled by its two sub-blocks' scales
     * ({@link Q6_KKernel}).
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void kQuantKernelsFollowTheirFactoredRuleBitwise(GgmlType type) {
        for (int variant = 0; variant < 4; variant++) {
            int rows = 37, cols = cols(type, variant), v = variant;
            for (Fill fill : Fill.values()) {
                MemorySegment w = matrix(type, rows, cols, fill, 43L + variant);
                assertFollowsBitwise(type, w, rows, cols, batch -> 31L * batch + v, fill.toString(),
                        (p, x, xo) -> type == GgmlType.Q6_K ? q6KRule(w, p, x, xo, cols) : kQuantRule(type, w, p, x, xo, cols));
            }
        }
    }

    /** {@link Q4_KKernel}'s rule in scalar code, reading the block layout ({@code BlockQ4_K}, {@code BlockQ5_K}) on its own. */
    private static float kQuantRule(GgmlType type, MemorySegment w, long p, float[] x, int xo, int cols) {
        int[] subBlockOfLane = {0, 4, 1, 5, 2, 6, 3, 7};
        boolean q5 = type == GgmlType.Q5_K;
        float[] acc = new float[8];
        for (int b = 0; b < cols / 256; b++) {
            long blk = p + (long) b * type.blockBytes;
            float d = Float.float16ToFloat(w.get(I16, blk)), dmin = Float.float16ToFloat(w.get(I16, blk + 2));
            int[] sc = new int[8], m = new int[8];
            for (int j = 0; j < 8; j++) {
                int[] scaleMin = scaleMin6(w, blk + 4, j);
                sc[j] = scaleMin[0];
                m[j] = scaleMin[1];
            }
            int xb = xo + 256 * b;
            for (int l = 0; l < 8; l++) {
                int j = subBlockOfLane[l], c = xb + 32 * j;
                float[] s = new float[8]; // the sub-block's sum: lane i adds columns 4i .. 4i + 3 pairwise
                for (int i = 0; i < 8; i++) s[i] = (x[c + 4 * i] + x[c + 4 * i + 1]) + (x[c + 4 * i + 2] + x[c + 4 * i + 3]);
                acc[l] = Math.fma(-dmin * m[j], VectorMath.sumLanes(s, 0), acc[l]);
            }
            for (int j = 0; j < 8; j++) {
                float[] t = new float[8];
                for (int g = 0; g < 4; g++) {
                    for (int l = 0; l < 8; l++) {
                        int i = 4 * l + g; // the value's index in its sub-block
                        int qs = w.get(ValueLayout.JAVA_BYTE, blk + (q5 ? 48 : 16) + 32 * (j / 2) + i) & 0xFF;
                        int q = (j % 2 == 0 ? qs & 0x0F : qs >> 4)
                                | (q5 ? (w.get(ValueLayout.JAVA_BYTE, blk + 16 + i) >> j & 1) << 4 : 0);
                        float xv = x[xb + 32 * j + i];
                        t[l] = g == 0 ? q * xv : Math.fma(q, xv, t[l]);
                    }
                }
                for (int l = 0; l < 8; l++) acc[l] = Math.fma(t[l], d * sc[j], acc[l]);
            }
        }
        return VectorMath.sumLanes(acc, 0);
    }

    /** {@link Q6_KKernel}'s rule in scalar code, reading the block layout ({@code BlockQ6_K}) on its own. */
    private static float q6KRule(MemorySegment w, long p, float[] x, int xo, int cols) {
        float[] acc = new float[8];
        for (int b = 0; b < cols / 256; b++) {
            long blk = p + (long) b * 210;
            float d = Float.float16ToFloat(w.get(I16, blk + 208));
            for (int chunk = 0; chunk < 8; chunk++) { // values 32·chunk .. +32: h = chunk / 4, k = chunk % 4
                int h = chunk / 4, k = chunk % 4;
                float[] t = new float[8];
                for (int g = 0; g < 4; g++) {
                    for (int l = 0; l < 8; l++) {
                        int i = 4 * l + g; // the value's index in its chunk
                        int ql = byteAt(w, blk + 64 * h + 32 * (k & 1) + i), qh = byteAt(w, blk + 128 + 32 * h + i);
                        int q = (k < 2 ? ql & 0x0F : ql >> 4) | (qh >> 2 * k & 3) << 4;
                        float xv = x[xo + 256 * b + 32 * chunk + i];
                        t[l] = g == 0 ? (q - 32) * xv : Math.fma(q - 32, xv, t[l]);
                    }
                }
                for (int l = 0; l < 8; l++) {
                    float s = d * w.get(ValueLayout.JAVA_BYTE, blk + 192 + 2 * chunk + (l < 4 ? 0 : 1));
                    acc[l] = Math.fma(t[l], s, acc[l]);
                }
            }
        }
        return VectorMath.sumLanes(acc, 0);
    }

    /** Sub-block j's 6-bit scale and min from the 12 scale bytes at {@code base}, as {@code BlockQ4_K} describes them. */
    private static int[] scaleMin6(MemorySegment w, long base, int j) {
        if (j < 4) return new int[] {byteAt(w, base + j) & 63, byteAt(w, base + j + 4) & 63};
        int packed = byteAt(w, base + j + 4);
        return new int[] {packed & 0x0F | (byteAt(w, base + j - 4) >> 6) << 4, packed >> 4 | (byteAt(w, base + j) >> 6) << 4};
    }

    private static int byteAt(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /**
     * The per-weight types (F32, F16, BF16: their groups run in column order) follow {@link RowKernel}'s
     * rule bit for bit, in every kernel shape: {@code acc = fma(w_g, x_g, acc)} over 8-lane groups with {@code w_g} as {@link GgmlType#decode}
     * decodes it, then {@link VectorMath#sumLanes}, then one {@code fma} per column past the last multiple of 8.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16"})
    void perWeightKernelsFollowTheColumnOrderRuleBitwise(GgmlType type) {
        for (int variant = 0; variant < 4; variant++) {
            int rows = 37, cols = cols(type, variant), v = variant;
            for (Fill fill : Fill.values()) {
                MemorySegment w = matrix(type, rows, cols, fill, 41L + variant);
                float[] row = new float[cols];
                assertFollowsBitwise(type, w, rows, cols, batch -> 29L * batch + v, fill.toString(), (p, x, xo) -> {
                    type.decode(w, p, row, 0, cols);
                    return columnOrderRule(row, x, xo, cols, RowKernel.of(type).blockOrder());
                });
            }
        }
    }

    /**
     * {@link RowKernel}'s column-order rule in scalar code; with a {@link RowKernel#blockOrder} (the K-quants), position i
     * of each 32 columns takes column {@code order[i]} of them.
     */
    private static float columnOrderRule(float[] w, float[] x, int xo, int cols, int[] order) {
        float[] acc = new float[8];
        int full = cols & ~7;
        for (int i = 0; i < full; i++) {
            int c = order == null ? i : (i & ~31) + order[i & 31];
            acc[i & 7] = Math.fma(w[c], x[xo + c], acc[i & 7]);
        }
        float s = VectorMath.sumLanes(acc, 0);
        for (int c = full; c < cols; c++) s = Math.fma(w[c], x[xo + c], s);
        return s;
    }

    /**
     * Q8_0, Q4_0 and the K-quants read a single token straight from the segment, a batch from copied rows: both give the same
     * accumulators bit for bit (rows may repeat, as in a short last tile).
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void segmentKernelEqualsTheArrayKernelBitwise(GgmlType type) {
        int rows = 9, cols = cols(type, 2);
        long rowBytes = type.bytesFor(cols);
        RowKernel k = RowKernel.of(type);
        for (Fill fill : Fill.values()) {
            MemorySegment w = matrix(type, rows, cols, fill, 3);
            byte[] copy = w.toArray(ValueLayout.JAVA_BYTE);
            float[] x = activations(4, cols, 13); // from xo = cols: a token, and room for the K-quants' block sums and a copy of all (512 bits)
            for (int r = 0; r + 4 <= rows; r += 2) {
                long p = r * rowBytes;
                float[] array = new float[RowKernel.LANES], segment = new float[RowKernel.LANES];
                k.rows4(copy, (int) p, (int) (p + rowBytes), (int) (p + 3 * rowBytes), (int) (p + 3 * rowBytes), x, cols, cols, array);
                assertThat(k.rows4(w, p, p + rowBytes, p + 3 * rowBytes, p + 3 * rowBytes, x, cols, cols, segment)).isTrue();
                assertThat(segment).as("%s rows from %d", fill, r).containsExactly(array);
                if (fill != Fill.ZEROS) assertThat(array).as("the accumulators were written").isNotEqualTo(new float[RowKernel.LANES]);
            }
        }
    }

    /** Dotting with unit vectors returns each weight: the kernels decode every value exactly as GgmlType.decode does. */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void unitVectorsReturnEveryWeightExactly(GgmlType type) {
        int rows = 7, cols = cols(type, 0);
        MemorySegment w = matrix(type, rows, cols, Fill.RANDOM, 5);
        float[] x = new float[cols * cols];
        for (int c = 0; c < cols; c++) x[c * cols + c] = 1f;
        float[] out = new float[cols * rows];
        MatMul.multiply(type, w, rows, cols, x, cols, out);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            type.decode(w, r * type.bytesFor(cols), row, 0, cols);
            for (int c = 0; c < cols; c++) {
                if (out[c * rows + r] != row[c]) fail("%s row %d col %d: got %s, weight is %s", type, r, c, out[c * rows + r], row[c]);
            }
        }
    }

    /** A token's results are bit-identical alone and at any position of any batch. */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void batchOfNEqualsBatchOfOneBitwise(GgmlType type) {
        for (int variant = 0; variant < 4; variant++) {
            int rows = 37, cols = cols(type, variant);
            MemorySegment w = matrix(type, rows, cols, Fill.RANDOM, variant);
            int maxBatch = BATCHES[BATCHES.length - 1];
            float[] tokens = activations(maxBatch, cols, 99);
            float[][] alone = new float[maxBatch][rows];
            for (int t = 0; t < maxBatch; t++) {
                float[] x = java.util.Arrays.copyOfRange(tokens, t * cols, (t + 1) * cols);
                MatMul.multiply(type, w, rows, cols, x, 1, alone[t]);
            }
            for (int batch : BATCHES) {
                // token i of the batch is token (3i + batch) mod 17 of the pool: different neighbours for every batch size
                float[] x = new float[batch * cols];
                int[] which = new int[batch];
                for (int i = 0; i < batch; i++) {
                    which[i] = (3 * i + batch) % maxBatch;
                    System.arraycopy(tokens, which[i] * cols, x, i * cols, cols);
                }
                float[] out = new float[batch * rows];
                MatMul.multiply(type, w, rows, cols, x, batch, out);
                for (int i = 0; i < batch; i++) {
                    float[] got = java.util.Arrays.copyOfRange(out, i * rows, (i + 1) * rows);
                    assertThat(got).as("%s %d×%d, token %d of a batch of %d", type, rows, cols, i, batch).containsExactly(alone[which[i]]);
                }
            }
        }
    }

    /** Large enough to be split over the pool: identical bits with 1, 2 and 3 threads. */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void threadCountChangesNothing(GgmlType type) {
        int rows = 203, cols = type.blockSize == 1 ? 2051 : 2048;
        MemorySegment w = matrix(type, rows, cols, Fill.RANDOM, 11);
        for (int batch : new int[] {1, 6}) {
            float[] x = activations(batch, cols, 3);
            float[][] results = new float[3][batch * rows];
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                MatMul.multiply(type, w, rows, cols, x, batch, results[threads - 1]);
            }
            assertThat(results[1]).as("%s batch %d, 2 threads vs 1", type, batch).containsExactly(results[0]);
            assertThat(results[2]).as("%s batch %d, 3 threads vs 1", type, batch).containsExactly(results[0]);
        }
    }
}
