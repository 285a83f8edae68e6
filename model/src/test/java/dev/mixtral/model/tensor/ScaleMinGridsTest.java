package dev.mixtral.model.tensor;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scale + min fit gives the very same levels, scale and min whether its grids are tried eight at a time
 * in vectors ({@link ScaleMinGrids}) or one by one as ggml's loop does: on random groups of many shapes and on
 * edge groups, with Q4_K's and Q5_K's search parameters.
 */
class ScaleMinGridsTest {
    /** nmax, rmin, rdelta, nstep of Q4_K and of Q5_K. */
    private static final float[][] PARAMS = {{15, -1f, 0.1f, 20}, {31, -0.5f, 0.1f, 15}};

    @Test
    void vectorGridsMatchTheScalarLoopBitForBit() {
        List<float[]> groups = groups();
        int vectorised = 0;
        for (float[] p : PARAMS) {
            for (float[] x : groups) {
                vectorised += compare(x, (int) p[0], p[1], p[2], (int) p[3]) ? 1 : 0;
            }
        }
        // most groups go through the vectors (only non-finite ones take the scalar path): the comparison means something
        assertThat(vectorised).isGreaterThan(groups.size());
    }

    /** Compares both paths on {@code x} with ggml's Q4_K weights (rms + |x|); true if the vector path ran. */
    private static boolean compare(float[] x, int nmax, float rmin, float rdelta, int nstep) {
        int n = x.length;
        float sumX2 = 0;
        for (float v : x) sumX2 += v * v;
        float avX = (float) Math.sqrt(sumX2 / n);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = avX + Math.abs(x[i]);
        int[] lv = new int[n], ls = new int[n];
        float[] mv = new float[1], ms = new float[1];
        float sv = KQuants.fitScaleMin(n, nmax, x, 0, w, lv, 0, new int[n], mv, 0, rmin, rdelta, nstep, true);
        float ss = KQuants.fitScaleMin(n, nmax, x, 0, w, ls, 0, new int[n], ms, 0, rmin, rdelta, nstep, false);
        String what = Arrays.toString(x) + " nmax " + nmax;
        assertThat(lv).as(what).containsExactly(ls);
        assertThat(Float.floatToRawIntBits(sv)).as(what).isEqualTo(Float.floatToRawIntBits(ss));
        assertThat(Float.floatToRawIntBits(mv[0])).as(what).isEqualTo(Float.floatToRawIntBits(ms[0]));
        float max = Float.NEGATIVE_INFINITY, min = Float.POSITIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        return Float.isFinite(max) && Float.isFinite(min) && max != Math.min(min, 0f);
    }

    private static List<float[]> groups() {
        SplittableRandom r = new SplittableRandom(22);
        List<float[]> out = new ArrayList<>();
        for (int g = 0; g < 1200; g++) {
            float[] x = new float[32];
            double s = Math.pow(10, r.nextInt(-30, 30));
            int kind = g % 5;
            for (int i = 0; i < 32; i++) {
                x[i] = (float) switch (kind) {
                    case 0 -> r.nextGaussian() * s;
                    case 1 -> r.nextDouble() * s;                                   // all positive: min clamps to 0
                    case 2 -> -r.nextDouble() * s;                                  // all negative
                    case 3 -> r.nextGaussian() * s * (r.nextInt(8) == 0 ? 40 : 1);  // outliers
                    default -> Math.round(r.nextGaussian() * 3) * s;                // few distinct values, many ties
                };
            }
            out.add(x);
        }
        out.add(new float[32]);
        float[] one = new float[32];
        one[7] = 1e-3f;
        out.add(one);
        float[] sub = new float[32];
        for (int i = 0; i < 32; i++) sub[i] = Float.MIN_VALUE * (i % 5);
        out.add(sub);
        float[] huge = new float[32];
        for (int i = 0; i < 32; i++) huge[i] = (i % 2 == 0 ? 1 : -1) * 3e38f;
        out.add(huge);
        float[] withInf = new float[32];
        withInf[3] = Float.POSITIVE_INFINITY;
        withInf[4] = 1f;
        out.add(withInf);
        float[] withNaN = new float[32];
        withNaN[5] = Float.NaN;
        withNaN[6] = -2f;
        out.add(withNaN);
        return out;
    }
}
