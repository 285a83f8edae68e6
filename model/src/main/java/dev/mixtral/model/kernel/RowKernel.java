package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The fused dot-product kernels of one weight type: rows are read straight from the (mapped) segment,
 * widened to f32 in registers and multiplied into f32 activations, with no decode pass.
 *
 * <h2>The summation order, which makes results independent of batching</h2>
 * Each type walks a row as a fixed sequence of 8-value groups (documented per type; for all but Q6_K it is
 * column order). For one (row, token) pair, every kernel computes exactly:
 * <pre>
 *   acc = 0 (8 lanes);  for each group g in the type's order:  acc = fma(w_g, x_g, acc)
 *   result = {@link VectorMath#sum}(acc), then, for a column count not a multiple of 8, result = fma(w_c, x_c, result) per extra column
 * </pre>
 * where {@code w_g} is the group's 8 weights exactly as {@code Dequantize.row} decodes them. The kernels
 * differ only in how many (row, token) pairs they interleave to keep the FMA units busy — {@link #rows4}
 * 4 rows × 1 token for decode, {@link #tile2x4} 2 rows × 4 tokens for batches, sharing each widened weight
 * group between its tokens — so a token's result never depends on which kernel, batch, thread or machine
 * computed it (the lane count is fixed at 8, whatever the hardware prefers).
 *
 * <p>One accumulator per pair keeps a 2 × 4 tile within the 16 vector registers of AVX2; interleaved
 * pairs, not extra accumulators, hide the FMA latency.
 */
public abstract class RowKernel {
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    /**
     * Dots 4 rows with one token: {@code out[o + i] = row_i · x[xo .. xo + cols)}, row {@code i} starting at
     * byte {@code p_i} of {@code w}. Rows may repeat (the caller pads a short tile that way).
     */
    public abstract void rows4(MemorySegment w, long p0, long p1, long p2, long p3,
                               float[] x, int xo, int cols, float[] out, int o);

    /**
     * Dots 2 rows with 4 tokens: {@code out[o_t] = row0 · x_t} and {@code out[o_t + 1] = row1 · x_t}, where token
     * {@code t}'s activations start at {@code x[x_t]}. Rows or tokens may repeat.
     */
    public abstract void tile2x4(MemorySegment w, long p0, long p1, float[] x, int x0, int x1, int x2, int x3,
                                 int cols, float[] out, int o0, int o1, int o2, int o3);

    private static final RowKernel F32 = new F32Kernel();
    private static final RowKernel F16 = new HalfKernel(false);
    private static final RowKernel BF16 = new HalfKernel(true);
    private static final RowKernel Q8_0 = new Q8_0Kernel();
    private static final RowKernel Q4_0 = new Q4_0Kernel();
    private static final RowKernel Q4_K = new QK45Kernel(false);
    private static final RowKernel Q5_K = new QK45Kernel(true);
    private static final RowKernel Q6_K = new Q6_KKernel();

    /** The kernels of a weight type. */
    public static RowKernel of(GgmlType type) {
        return switch (type) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            case Q8_0 -> Q8_0;
            case Q4_0 -> Q4_0;
            case Q4_K -> Q4_K;
            case Q5_K -> Q5_K;
            case Q6_K -> Q6_K;
        };
    }

    // ---- widening helpers shared by the kernels ----

    /** The fp16 at byte {@code off}, as f32 (exact). */
    static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16_LE, off));
    }

    /** 8 signed bytes at {@code off} as 8 floats. */
    static FloatVector bytesToFloats(MemorySegment w, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B8, w, off, LE).convertShape(VectorOperators.B2F, F8, 0);
    }

    /** 8 unsigned bytes at {@code off} as 8 ints (0..255): the source of nibbles and high bits. */
    static IntVector unsignedBytes(MemorySegment w, long off) {
        return (IntVector) ByteVector.fromMemorySegment(B8, w, off, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I8, 0);
    }

    /** Small non-negative ints as floats (exact). */
    static FloatVector toFloats(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    /** Stores a 2 × 4 tile's sums: row 0 of token t at {@code out[o_t]}, row 1 at {@code out[o_t + 1]}. */
    static void store(float[] out, int o0, int o1, int o2, int o3,
                      float s00, float s01, float s02, float s03, float s10, float s11, float s12, float s13) {
        out[o0] = s00;
        out[o0 + 1] = s10;
        out[o1] = s01;
        out[o1 + 1] = s11;
        out[o2] = s02;
        out[o2 + 1] = s12;
        out[o3] = s03;
        out[o3 + 1] = s13;
    }
}
