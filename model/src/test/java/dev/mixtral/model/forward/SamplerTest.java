package dev.mixtral.model.forward;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class SamplerTest {
    static float[] logits(int n, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * scale);
        return l;
    }

    @Test
    void greedyTopK1AndATinyNucleusAllPickTheArgmax() {
        float[] l = logits(32000, 1, 3);
        int best = Sampler.argmax(l, 0, l.length);
        Sampler topK1 = new Sampler(new SamplingParams(1.5f, 1, 1f, 7));
        Sampler tinyP = new Sampler(new SamplingParams(1.0f, 0, 1e-6f, 7));
        for (int i = 0; i < 50; i++) {
            assertThat(topK1.next(l)).isEqualTo(best);
            assertThat(tinyP.next(l)).isEqualTo(best);
        }
        assertThat(new Sampler(SamplingParams.GREEDY).next(l)).isEqualTo(best);
    }

    @Test
    void drawsFollowTheSoftmaxAndStayInsideTopK() {
        float[] l = {2.0f, 1.0f, 0.5f, 0.5f, -1f, -3f};
        double t = 0.8;
        double[] p = new double[l.length];
        double sum = 0;
        for (int i = 0; i < l.length; i++) sum += p[i] = Math.exp(l[i] / t);
        Sampler s = new Sampler(new SamplingParams((float) t, 0, 1f, 42));
        int n = 200_000;
        int[] counts = new int[l.length];
        for (int i = 0; i < n; i++) counts[s.next(l)]++;
        for (int i = 0; i < l.length; i++) {
            double expected = p[i] / sum;
            assertThat((double) counts[i] / n).as("token %d", i).isCloseTo(expected, org.assertj.core.data.Offset.offset(0.005));
        }
        Sampler top3 = new Sampler(new SamplingParams(5f, 3, 1f, 42));
        for (int i = 0; i < 10_000; i++) assertThat(top3.next(l)).isIn(0, 1, 2); // ties at 0.5: the lower id is kept
    }

    @Test
    void nucleusIsTheSmallestPrefixReachingTopP() {
        float[] l = {3f, 2f, 1f, 0f};
        // probabilities at t=1: 0.644, 0.237, 0.087, 0.032 → top_p 0.85 keeps {0, 1}
        Sampler s = new Sampler(new SamplingParams(1f, 0, 0.85f, 3));
        boolean sawOne = false;
        for (int i = 0; i < 5000; i++) {
            int x = s.next(l);
            assertThat(x).isIn(0, 1);
            sawOne |= x == 1;
        }
        assertThat(sawOne).isTrue();
    }

    @Test
    void aFlatDistributionNeedsTheTailAndStillWorks() {
        float[] l = new float[32000]; // all equal: every token in the nucleus of top_p 0.999
        Sampler s = new Sampler(new SamplingParams(1f, 0, 0.999f, 9));
        int[] seen = new int[32000];
        for (int i = 0; i < 64_000; i++) seen[s.next(l)]++;
        long distinct = java.util.Arrays.stream(seen).filter(c -> c > 0).count();
        assertThat(distinct).isGreaterThan(25_000);
    }

    @Test
    void theSameSeedGivesTheSameDrawsAndAnotherSeedOthers() {
        float[] l = logits(32000, 5, 2);
        int[] a = new int[64], b = new int[64], c = new int[64];
        Sampler sa = new Sampler(new SamplingParams(0.9f, 40, 0.95f, 11)), sb = new Sampler(new SamplingParams(0.9f, 40, 0.95f, 11));
        Sampler sc = new Sampler(new SamplingParams(0.9f, 40, 0.95f, 12));
        for (int i = 0; i < 64; i++) {
            a[i] = sa.next(l);
            b[i] = sb.next(l);
            c[i] = sc.next(l);
        }
        assertThat(b).containsExactly(a);
        assertThat(c).isNotEqualTo(a);
    }
}
