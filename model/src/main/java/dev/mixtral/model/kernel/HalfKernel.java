package dev.mixtral.model.kernel;

import static dev.mixtral.model.kernel.VectorMath.sum;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * F16 and BF16 rows: groups of 8 in column order, then a scalar tail. The Vector API has no fp16
 * conversion, so fp16 is widened with integer operations (exact for every value, subnormals, inf and NaN
 * included, without ever forming a subnormal float, which some CPUs handle slowly).
 */
final class HalfKernel extends RowKernel {
    private static final float TWO_POW_MINUS_14 = 0x1p-14f;
    private final boolean bf16;

    HalfKernel(boolean bf16) {
        this.bf16 = bf16;
    }

    private static FloatVector widenBf16(MemorySegment w, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S8, w, off, LE).convertShape(VectorOperators.S2I, I8, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector widenF16(MemorySegment w, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S8, w, off, LE).convertShape(VectorOperators.S2I, I8, 0);
        IntVector o = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13); // exponent and mantissa, at f32's place
        IntVector exp = o.and(0x1f << 23);
        o = o.add(112 << 23);                                           // exponent bias 15 → 127
        o = o.add(112 << 23, exp.eq(0x1f << 23));                       // inf and NaN: exponent 255
        VectorMask<Integer> small = exp.eq(0);
        o = o.add(1 << 23, small);                                      // zero and subnormal m: 2^-14·(1 + m/1024) ...
        FloatVector f = o.reinterpretAsFloats().sub(TWO_POW_MINUS_14, small.cast(F8)); // ... − 2^-14 = m·2^-24 exactly
        return f.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    private FloatVector widen(MemorySegment w, long off) {
        return bf16 ? widenBf16(w, off) : widenF16(w, off);
    }

    private float tail(float s, MemorySegment w, long off, float x) {
        short h = w.get(I16_LE, off);
        float v = bf16 ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h);
        return Math.fma(v, x, s);
    }

    @Override
    public void rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int c = 0;
        for (; c + 8 <= cols; c += 8) {
            FloatVector xv = FloatVector.fromArray(F8, x, xo + c);
            long b = 2L * c;
            a0 = widen(w, p0 + b).fma(xv, a0);
            a1 = widen(w, p1 + b).fma(xv, a1);
            a2 = widen(w, p2 + b).fma(xv, a2);
            a3 = widen(w, p3 + b).fma(xv, a3);
        }
        float s0 = sum(a0), s1 = sum(a1), s2 = sum(a2), s3 = sum(a3);
        for (; c < cols; c++) {
            float xc = x[xo + c];
            long b = 2L * c;
            s0 = tail(s0, w, p0 + b, xc);
            s1 = tail(s1, w, p1 + b, xc);
            s2 = tail(s2, w, p2 + b, xc);
            s3 = tail(s3, w, p3 + b, xc);
        }
        out[o] = s0;
        out[o + 1] = s1;
        out[o + 2] = s2;
        out[o + 3] = s3;
    }

    @Override
    public void tile2x4(MemorySegment w, long p0, long p1, float[] x, int x0, int x1, int x2, int x3,
                        int cols, float[] out, int o0, int o1, int o2, int o3) {
        FloatVector a00 = FloatVector.zero(F8), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        int c = 0;
        for (; c + 8 <= cols; c += 8) {
            long b = 2L * c;
            FloatVector w0 = widen(w, p0 + b), w1 = widen(w, p1 + b);
            FloatVector xv = FloatVector.fromArray(F8, x, x0 + c);
            a00 = w0.fma(xv, a00);
            a10 = w1.fma(xv, a10);
            xv = FloatVector.fromArray(F8, x, x1 + c);
            a01 = w0.fma(xv, a01);
            a11 = w1.fma(xv, a11);
            xv = FloatVector.fromArray(F8, x, x2 + c);
            a02 = w0.fma(xv, a02);
            a12 = w1.fma(xv, a12);
            xv = FloatVector.fromArray(F8, x, x3 + c);
            a03 = w0.fma(xv, a03);
            a13 = w1.fma(xv, a13);
        }
        float s00 = sum(a00), s01 = sum(a01), s02 = sum(a02), s03 = sum(a03);
        float s10 = sum(a10), s11 = sum(a11), s12 = sum(a12), s13 = sum(a13);
        for (; c < cols; c++) {
            long b = 2L * c;
            s00 = tail(s00, w, p0 + b, x[x0 + c]);
            s01 = tail(s01, w, p0 + b, x[x1 + c]);
            s02 = tail(s02, w, p0 + b, x[x2 + c]);
            s03 = tail(s03, w, p0 + b, x[x3 + c]);
            s10 = tail(s10, w, p1 + b, x[x0 + c]);
            s11 = tail(s11, w, p1 + b, x[x1 + c]);
            s12 = tail(s12, w, p1 + b, x[x2 + c]);
            s13 = tail(s13, w, p1 + b, x[x3 + c]);
        }
        store(out, o0, o1, o2, o3, s00, s01, s02, s03, s10, s11, s12, s13);
    }
}
