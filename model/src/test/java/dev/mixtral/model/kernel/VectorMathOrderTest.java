package dev.mixtral.model.kernel;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * dot's summation order is part of its contract (results must not depend on where or when it runs):
 * it must equal a scalar replay of that order bit for bit, interpreted and JIT-compiled alike.
 */
class VectorMathOrderTest {
    static float scalarReplay(float[] a, float[] b, int n) {
        float[] acc0 = new float[8], acc1 = new float[8];
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            for (int j = 0; j < 8; j++) {
                acc0[j] = Math.fma(a[i + j], b[i + j], acc0[j]);
                acc1[j] = Math.fma(a[i + 8 + j], b[i + 8 + j], acc1[j]);
            }
        }
        for (; i + 8 <= n; i += 8) {
            for (int j = 0; j < 8; j++) acc0[j] = Math.fma(a[i + j], b[i + j], acc0[j]);
        }
        float[] s = new float[8];
        for (int j = 0; j < 8; j++) s[j] = acc0[j] + acc1[j];
        float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    @Test
    void dotSumsInItsDocumentedOrderBeforeAndAfterCompilation() {
        Random r = new Random(3);
        // enough calls for C2 to compile dot; every one is checked
        for (int k = 0; k < 30_000; k++) {
            int n = 1 + r.nextInt(80);
            float[] a = new float[n], b = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) r.nextGaussian();
                b[i] = (float) r.nextGaussian();
            }
            float expected = scalarReplay(a, b, n);
            assertThat(Float.floatToRawIntBits(VectorMath.dot(a, 0, b, 0, n))).as("n=%d call %d", n, k)
                    .isEqualTo(Float.floatToRawIntBits(expected));
        }
    }
}
