package dev.mixtral.model.kernel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dot product's summation order is part of the model's arithmetic: it must be the documented one,
 * bit for bit, cold or JIT-compiled, so every process of a cluster computes the same numbers.
 */
class VectorMathTest {

    /** The documented order, written out in scalar code: lane-wise FMA over two accumulators, pairwise lane sum, tail. */
    static float reference(float[] a, float[] b, int n) {
        float[] acc0 = new float[8], acc1 = new float[8];
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            for (int l = 0; l < 8; l++) {
                acc0[l] = Math.fma(a[i + l], b[i + l], acc0[l]);
                acc1[l] = Math.fma(a[i + 8 + l], b[i + 8 + l], acc1[l]);
            }
        }
        for (; i + 8 <= n; i += 8) {
            for (int l = 0; l < 8; l++) acc0[l] = Math.fma(a[i + l], b[i + l], acc0[l]);
        }
        float[] s = new float[8];
        for (int l = 0; l < 8; l++) s[l] = acc0[l] + acc1[l];
        float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    @Test
    void dotFollowsTheDocumentedOrderBeforeAndAfterWarmUp() {
        SplittableRandom r = new SplittableRandom(7);
        int[] sizes = {1, 7, 8, 9, 15, 16, 17, 31, 64, 100, 128, 1000, 4096};
        for (int round = 0; round < 3000; round++) { // enough calls for C2 to compile the loop
            int n = sizes[round % sizes.length];
            float[] a = new float[n], b = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) r.nextGaussian() * (i % 5 == 0 ? 1000 : 1);
                b[i] = (float) r.nextGaussian();
            }
            MemorySegment seg = MemorySegment.ofArray(new byte[4 * n]);
            for (int i = 0; i < n; i++) seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i, a[i]);
            float expected = reference(a, b, n);
            assertThat(Float.floatToIntBits(VectorMath.dot(a, 0, b, 0, n))).as("n=%d round=%d", n, round).isEqualTo(Float.floatToIntBits(expected));
            assertThat(Float.floatToIntBits(VectorMath.dot(seg, 0, b, 0, n))).as("segment n=%d", n).isEqualTo(Float.floatToIntBits(expected));
        }
    }

    /**
     * The softmax numerators: within 3 ulp of {@link Math#exp} over the whole range a shifted score takes (and 0-ish
     * below float's normal range), every element the same bits whether a vector lane or the scalar tail computed
     * it, cold or JIT-compiled, and the sum in the documented order.
     */
    @Test
    void expShiftedSumIsAccurateAndTheSameInEveryLaneAndTheTail() {
        SplittableRandom r = new SplittableRandom(11);
        for (int round = 0; round < 2000; round++) { // enough calls for C2 to compile the loop
            int n = 1 + r.nextInt(40);
            float[] s = new float[n];
            for (int i = 0; i < n; i++) s[i] = (float) (r.nextDouble() * 120 - 100);
            float max = Float.NEGATIVE_INFINITY;
            for (float v : s) max = Math.max(max, v);
            float[] e = s.clone();
            float sum = VectorMath.expShiftedSum(e, n, max);
            float[] lanes = new float[8];
            int whole = n / 8 * 8;
            for (int i = 0; i < n; i++) {
                float want = VectorMath.exp(s[i] - max); // the scalar form: what the tail computes
                assertThat(Float.floatToRawIntBits(e[i])).as("n=%d i=%d round=%d", n, i, round).isEqualTo(Float.floatToRawIntBits(want));
                double exact = Math.exp(s[i] - max); // of the float difference, as the kernel computes it
                if (exact >= Float.MIN_NORMAL) assertThat(Math.abs(e[i] - exact)).as("x=%s", s[i] - max).isLessThanOrEqualTo(3 * Math.ulp((float) exact));
                else assertThat(e[i]).isLessThan(2 * Float.MIN_NORMAL);
                if (i < whole) lanes[i % 8] += e[i];
            }
            float expected = VectorMath.sumLanes(lanes, 0);
            for (int i = whole; i < n; i++) expected += e[i];
            assertThat(Float.floatToRawIntBits(sum)).as("sum n=%d", n).isEqualTo(Float.floatToRawIntBits(expected));
        }
    }
}
