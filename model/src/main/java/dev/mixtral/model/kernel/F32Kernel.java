package dev.mixtral.model.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * F32 rows: groups of 8 in column order, then a scalar tail for the last {@code cols % 8} columns. A pass
 * reads {@link #PASS} columns of each group ({@code c} runs over the group's columns {@code l0, l0 + 8, ...}), as
 * bytes reinterpreted as floats (the Vector API orders lanes little-endian, as GGUF stores them).
 */
public final class F32Kernel extends RowKernel {

    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
            for (int c = l0; c + 8 - l0 <= cols; c += 8) {
                FloatVector xv = FloatVector.fromArray(FLOATS, x, xo + c);
                int b = 4 * c;
                a0 = ((FloatVector) ByteVector.fromArray(INT_BYTES, w, p0 + b).reinterpretShape(FLOATS, 0)).fma(xv, a0);
                a1 = ((FloatVector) ByteVector.fromArray(INT_BYTES, w, p1 + b).reinterpretShape(FLOATS, 0)).fma(xv, a1);
                a2 = ((FloatVector) ByteVector.fromArray(INT_BYTES, w, p2 + b).reinterpretShape(FLOATS, 0)).fma(xv, a2);
                a3 = ((FloatVector) ByteVector.fromArray(INT_BYTES, w, p3 + b).reinterpretShape(FLOATS, 0)).fma(xv, a3);
            }
            a0.intoArray(lanes, l0);
            a1.intoArray(lanes, 8 + l0);
            a2.intoArray(lanes, 16 + l0);
            a3.intoArray(lanes, 24 + l0);
        }
    }

    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3,
                        int cols, float[] lanes) {
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a02 = a00, a03 = a00;
            FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (int c = l0; c + 8 - l0 <= cols; c += 8) {
                int b = 4 * c;
                FloatVector w0 = ((FloatVector) ByteVector.fromArray(INT_BYTES, w, p0 + b).reinterpretShape(FLOATS, 0)), w1 = ((FloatVector) ByteVector.fromArray(INT_BYTES, w, p1 + b).reinterpretShape(FLOATS, 0));
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
        for (int c = cols & ~7; c < cols; c++) s = Math.fma((float) F32_LE.get(w, p + 4 * c), x[xo + c], s);
        return s;
    }
}
