package dev.mixtral.model.kernel;

import static dev.mixtral.model.kernel.VectorMath.sum;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/** F32 rows: groups of 8 in column order, then a scalar tail for the last {@code cols % 8} columns. */
final class F32Kernel extends RowKernel {

    private static FloatVector load(MemorySegment w, long off) {
        return FloatVector.fromMemorySegment(F8, w, off, LE);
    }

    /** The scalar tail step, shared by both kernels so that they round alike. */
    private static float tail(float s, MemorySegment w, long off, float x) {
        return Math.fma(w.get(F32_LE, off), x, s);
    }

    @Override
    public void rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int c = 0;
        for (; c + 8 <= cols; c += 8) {
            FloatVector xv = FloatVector.fromArray(F8, x, xo + c);
            long b = 4L * c;
            a0 = load(w, p0 + b).fma(xv, a0);
            a1 = load(w, p1 + b).fma(xv, a1);
            a2 = load(w, p2 + b).fma(xv, a2);
            a3 = load(w, p3 + b).fma(xv, a3);
        }
        float s0 = sum(a0), s1 = sum(a1), s2 = sum(a2), s3 = sum(a3);
        for (; c < cols; c++) {
            float xc = x[xo + c];
            long b = 4L * c;
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
            long b = 4L * c;
            FloatVector w0 = load(w, p0 + b), w1 = load(w, p1 + b);
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
            long b = 4L * c;
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
