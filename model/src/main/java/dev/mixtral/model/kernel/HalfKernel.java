package dev.mixtral.model.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * F16 and BF16 rows: groups of 8 in column order, then a scalar tail. The Vector API has no fp16
 * conversion, so fp16 is widened with integer operations, exact for every value (subnormals, inf and NaN
 * included) without ever forming a subnormal float, which some CPUs handle slowly: the exponent is rebiased,
 * exponent 31 becomes 255, and a subnormal {@code m} is computed as {@code 2^-14·(1 + m/1024) − 2^-14}.
 */
public final class HalfKernel extends RowKernel {
    private static final float TWO_POW_MINUS_14 = 0x1p-14f;
    private static final VectorOperators.Conversion<Short, Integer> S2I = VectorOperators.S2I;
    /** {@link #SHORT_BYTES} as 16-bit lanes. */
    private static final VectorSpecies<Short> SHORTS = SHORT_BYTES.withLanes(short.class);
    private final boolean bf16;

    public HalfKernel(boolean bf16) {
        this.bf16 = bf16;
    }

    /** Two 2-row passes, to keep each compiled body small (see {@link RowKernel}). */
    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        rows2(w, p0, p1, x, xo, cols, lanes, 0);
        rows2(w, p2, p3, x, xo, cols, lanes, 16);
    }

    private void rows2(byte[] w, int p0, int p1, float[] x, int xo, int cols, float[] lanes, int lo) {
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0;
            for (int c = l0; c + 8 - l0 <= cols; c += 8) {
                int b = 2 * c;
                IntVector h0 = (IntVector) ByteVector.fromArray(SHORT_BYTES, w, p0 + b).reinterpretShape(SHORTS, 0).convertShape(S2I, INTS, 0);
                FloatVector w0;
                if (bf16) {
                    w0 = (FloatVector) h0.lanewise(LSHL, 16).reinterpretShape(FLOATS, 0);
                } else { // fp16: exponent and mantissa moved to f32's place and rebiased; inf/NaN and subnormals fixed up
                    IntVector o = h0.and(0x7fff).lanewise(LSHL, 13);
                    IntVector exp = o.and(0x1f << 23);
                    VectorMask<Integer> small = exp.eq(0);
                    o = o.add(112 << 23).add(112 << 23, exp.eq(0x1f << 23)).add(1 << 23, small);
                    FloatVector f = ((FloatVector) o.reinterpretShape(FLOATS, 0)).sub(TWO_POW_MINUS_14, small.cast(FLOATS));
                    w0 = (FloatVector) ((IntVector) f.reinterpretShape(INTS, 0)).or(h0.and(0x8000).lanewise(LSHL, 16)).reinterpretShape(FLOATS, 0);
                }
                IntVector h1 = (IntVector) ByteVector.fromArray(SHORT_BYTES, w, p1 + b).reinterpretShape(SHORTS, 0).convertShape(S2I, INTS, 0);
                FloatVector w1;
                if (bf16) {
                    w1 = (FloatVector) h1.lanewise(LSHL, 16).reinterpretShape(FLOATS, 0);
                } else { // fp16: exponent and mantissa moved to f32's place and rebiased; inf/NaN and subnormals fixed up
                    IntVector o = h1.and(0x7fff).lanewise(LSHL, 13);
                    IntVector exp = o.and(0x1f << 23);
                    VectorMask<Integer> small = exp.eq(0);
                    o = o.add(112 << 23).add(112 << 23, exp.eq(0x1f << 23)).add(1 << 23, small);
                    FloatVector f = ((FloatVector) o.reinterpretShape(FLOATS, 0)).sub(TWO_POW_MINUS_14, small.cast(FLOATS));
                    w1 = (FloatVector) ((IntVector) f.reinterpretShape(INTS, 0)).or(h1.and(0x8000).lanewise(LSHL, 16)).reinterpretShape(FLOATS, 0);
                }
                FloatVector xv = FloatVector.fromArray(FLOATS, x, xo + c);
                a0 = w0.fma(xv, a0);
                a1 = w1.fma(xv, a1);
            }
            a0.intoArray(lanes, lo + l0);
            a1.intoArray(lanes, lo + 8 + l0);
        }
    }

    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3,
                        int cols, float[] lanes) {
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a02 = a00, a03 = a00;
            FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (int c = l0; c + 8 - l0 <= cols; c += 8) {
                int b = 2 * c;
                IntVector h0 = (IntVector) ByteVector.fromArray(SHORT_BYTES, w, p0 + b).reinterpretShape(SHORTS, 0).convertShape(S2I, INTS, 0);
                FloatVector w0;
                if (bf16) {
                    w0 = (FloatVector) h0.lanewise(LSHL, 16).reinterpretShape(FLOATS, 0);
                } else { // fp16: exponent and mantissa moved to f32's place and rebiased; inf/NaN and subnormals fixed up
                    IntVector o = h0.and(0x7fff).lanewise(LSHL, 13);
                    IntVector exp = o.and(0x1f << 23);
                    VectorMask<Integer> small = exp.eq(0);
                    o = o.add(112 << 23).add(112 << 23, exp.eq(0x1f << 23)).add(1 << 23, small);
                    FloatVector f = ((FloatVector) o.reinterpretShape(FLOATS, 0)).sub(TWO_POW_MINUS_14, small.cast(FLOATS));
                    w0 = (FloatVector) ((IntVector) f.reinterpretShape(INTS, 0)).or(h0.and(0x8000).lanewise(LSHL, 16)).reinterpretShape(FLOATS, 0);
                }
                IntVector h1 = (IntVector) ByteVector.fromArray(SHORT_BYTES, w, p1 + b).reinterpretShape(SHORTS, 0).convertShape(S2I, INTS, 0);
                FloatVector w1;
                if (bf16) {
                    w1 = (FloatVector) h1.lanewise(LSHL, 16).reinterpretShape(FLOATS, 0);
                } else { // fp16: exponent and mantissa moved to f32's place and rebiased; inf/NaN and subnormals fixed up
                    IntVector o = h1.and(0x7fff).lanewise(LSHL, 13);
                    IntVector exp = o.and(0x1f << 23);
                    VectorMask<Integer> small = exp.eq(0);
                    o = o.add(112 << 23).add(112 << 23, exp.eq(0x1f << 23)).add(1 << 23, small);
                    FloatVector f = ((FloatVector) o.reinterpretShape(FLOATS, 0)).sub(TWO_POW_MINUS_14, small.cast(FLOATS));
                    w1 = (FloatVector) ((IntVector) f.reinterpretShape(INTS, 0)).or(h1.and(0x8000).lanewise(LSHL, 16)).reinterpretShape(FLOATS, 0);
                }
                FloatVector xv = FloatVector.fromArray(FLOATS, x, x0 + c);
                a00 = w0.fma(xv, a00);
                a10 = w1.fma(xv, a10);
                xv = FloatVector.fromArray(FLOATS, x, x1 + c);
                a01 = w0.fma(xv, a01);
                a11 = w1.fma(xv, a11);
                xv = FloatVector.fromArray(FLOATS, x, x2 + c);
                a02 = w0.fma(xv, a02);
                a12 = w1.fma(xv, a12);
                xv = FloatVector.fromArray(FLOATS, x, x3 + c);
                a03 = w0.fma(xv, a03);
                a13 = w1.fma(xv, a13);
            }
            a00.intoArray(lanes, l0);
            a01.intoArray(lanes, 8 + l0);
            a02.intoArray(lanes, 16 + l0);
            a03.intoArray(lanes, 24 + l0);
            a10.intoArray(lanes, 32 + l0);
            a11.intoArray(lanes, 40 + l0);
            a12.intoArray(lanes, 48 + l0);
            a13.intoArray(lanes, 56 + l0);
        }
    }

    @Override
    public float tail(float s, byte[] w, int p, float[] x, int xo, int cols) {
        for (int c = cols & ~7; c < cols; c++) {
            short h = (short) I16_LE.get(w, p + 2 * c);
            s = Math.fma(bf16 ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h), x[xo + c], s);
        }
        return s;
    }
}
