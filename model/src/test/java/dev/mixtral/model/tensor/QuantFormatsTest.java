package dev.mixtral.model.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntToDoubleFunction;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Round trips of every format: exact for F32 and for F16/BF16-representable inputs, round-to-nearest-even
 * otherwise; for the block formats, dequantize(quantize(x)) within the error the format's rounding allows, on
 * random data and on edge blocks; hand-computed bytes for Q8_0/Q4_0's rounding rules; and the error order
 * of the quantized formats on Gaussian data.
 */
class QuantFormatsTest {

    // ---------------------------------------------------------------- helpers

    private static byte[] quantize(GgmlType t, float[] x) {
        byte[] out = new byte[(int) t.bytesFor(x.length)];
        t.encode(x, 0, x.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    private static float[] dequantize(GgmlType t, byte[] bytes, int n) {
        float[] y = new float[n];
        t.decode(MemorySegment.ofArray(bytes), 0, y, 0, n);
        return y;
    }

    private static float[] roundTrip(GgmlType t, float[] x) {
        return dequantize(t, quantize(t, x), x.length);
    }

    /** Spacing of fp16 numbers at the magnitude of {@code v} (as stored: {@code v} must be fp16-representable). */
    private static float f16Ulp(float v) {
        short h = Float.floatToFloat16(Math.abs(v));
        return Float.float16ToFloat((short) (h + 1)) - Float.float16ToFloat(h);
    }

    private static float[] fill(int n, IntToDoubleFunction f) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) f.applyAsDouble(i);
        return x;
    }

    /** Edge blocks: every block-format round trip must handle these (n values each). */
    private static List<float[]> edgeCases(int n) {
        Random r = new Random(3);
        List<float[]> cases = new ArrayList<>();
        cases.add(new float[n]);                                          // zeros
        cases.add(fill(n, i -> 0.37));                                    // all equal, positive
        cases.add(fill(n, i -> -0.37));                                   // all equal, negative
        cases.add(fill(n, i -> r.nextGaussian() * 6e4));                  // huge (scales near fp16's top)
        cases.add(fill(n, i -> r.nextGaussian() * 1e-4));                 // tiny (fp16-subnormal scales)
        cases.add(fill(n, i -> i == 5 ? -3 : r.nextDouble() * 1.5 - 1));  // negative max
        cases.add(fill(n, i -> i == 9 ? 3 : r.nextDouble() * 1.5 - 0.5)); // positive max
        cases.add(fill(n, i -> (i % 2 == 0 ? 1 : -1) * 0.75));            // max magnitude tied between signs
        cases.add(fill(n, i -> i % 2 == 0 ? -0.75 : 0.75));
        cases.add(fill(n, i -> r.nextDouble()));                          // all positive
        cases.add(fill(n, i -> -r.nextDouble()));                         // all negative
        cases.add(fill(n, i -> r.nextGaussian() * Math.pow(10, (i / 32) % 4 - 2)));      // sub-blocks 1e-2..10
        cases.add(fill(n, i -> (i / 32) % 2 == 0 ? 0 : r.nextGaussian()));               // zero sub-blocks
        cases.add(fill(n, i -> Math.round(r.nextGaussian() * 4) / 4.0));                 // few distinct values
        cases.add(fill(n, i -> i % 16 == 3 ? 40 * r.nextGaussian() : r.nextGaussian())); // outliers
        return cases;
    }

    // ---------------------------------------------------------------- F32 / F16 / BF16

    @Test
    void f32RoundTripIsBitExactIncludingSpecialValues() {
        Random r = new Random(1);
        float[] x = new float[4096];
        for (int i = 0; i < x.length; i++) x[i] = Float.intBitsToFloat(r.nextInt());
        float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_NORMAL, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7fc00001)};
        System.arraycopy(specials, 0, x, 0, specials.length);
        byte[] bytes = quantize(GgmlType.F32, x);
        assertThat(bytes).hasSize(4 * x.length);
        assertThat(bytes[0] | bytes[1] | bytes[2] | bytes[3]).isZero();
        // little-endian: -0f is 0x80000000, its sign byte comes last
        assertThat(bytes[7]).isEqualTo((byte) 0x80);
        float[] y = dequantize(GgmlType.F32, bytes, x.length);
        for (int i = 0; i < x.length; i++) {
            assertThat(Float.floatToRawIntBits(y[i])).as("value %d", i).isEqualTo(Float.floatToRawIntBits(x[i]));
        }
    }

    @Test
    void f16RoundTripIsExactForEveryRepresentableValue() {
        float[] x = new float[65536];
        for (int h = 0; h < 65536; h++) x[h] = Float.float16ToFloat((short) h);
        byte[] bytes = quantize(GgmlType.F16, x);
        float[] y = dequantize(GgmlType.F16, bytes, x.length);
        for (int h = 0; h < 65536; h++) {
            if (Float.isNaN(x[h])) {
                assertThat(y[h]).isNaN();
            } else {
                assertThat(KLayout.u16(bytes, 2 * h)).as("fp16 0x%04x", h).isEqualTo(h);
                assertThat(Float.floatToRawIntBits(y[h])).isEqualTo(Float.floatToRawIntBits(x[h]));
            }
        }
    }

    @Test
    void f16RoundsToNearestEven() {
        float one = 1f, ulp = 0x1p-10f; // fp16 spacing in [1, 2)
        float[] x = {one + ulp / 2, one + 3 * ulp / 2, one + ulp / 2 + 0x1p-20f, -(one + ulp / 2),
                65504f, 65519.99f, 65520f, 0x1p-25f, 0x1p-25f + 0x1p-40f, 0x3p-25f};
        float[] expected = {one, one + 2 * ulp, one + ulp, -one,
                65504f, 65504f, Float.POSITIVE_INFINITY, 0f, 0x1p-24f, 0x2p-24f};
        assertThat(roundTrip(GgmlType.F16, x)).containsExactly(expected);

        Random r = new Random(2);
        float[] g = fill(8192, i -> r.nextGaussian() * Math.pow(10, i % 9 - 4));
        float[] y = roundTrip(GgmlType.F16, g);
        byte[] bits = quantize(GgmlType.F16, g);
        for (int i = 0; i < g.length; i++) {
            // nearest: neither fp16 neighbour of the result is closer to the input; on a tie the result is even
            int h = KLayout.u16(bits, 2 * i);
            float err = Math.abs(y[i] - g[i]);
            for (int nb : new int[] {h - 1, h + 1}) {
                float other = Float.float16ToFloat((short) nb);
                if ((nb & 0x7fff) == 0x7fff || Float.isNaN(other) || Math.signum(other) * Math.signum(y[i]) < 0) continue;
                float otherErr = Math.abs(other - g[i]);
                assertThat(err).as("value %d: %s → %s, neighbour %s", i, g[i], y[i], other).isLessThanOrEqualTo(otherErr);
                if (err == otherErr) assertThat(h & 1).as("tie at value %d goes to even", i).isZero();
            }
        }
    }

    @Test
    void bf16RoundTripIsExactForEveryRepresentableValueAndRoundsToNearestEven() {
        float[] x = new float[65536];
        for (int h = 0; h < 65536; h++) x[h] = Float.intBitsToFloat(h << 16);
        byte[] bytes = quantize(GgmlType.BF16, x);
        float[] y = dequantize(GgmlType.BF16, bytes, x.length);
        for (int h = 0; h < 65536; h++) {
            if (Float.isNaN(x[h])) {
                assertThat(y[h]).as("bf16 0x%04x", h).isNaN(); // NaNs stay NaN (made quiet)
            } else {
                assertThat(KLayout.u16(bytes, 2 * h)).as("bf16 0x%04x", h).isEqualTo(h);
            }
        }
        float ulp = 0x1p-7f; // bf16 spacing in [1, 2)
        float[] t = {1 + ulp / 2, 1 + 3 * ulp / 2, 1 + ulp / 2 + 0x1p-20f, -(1 + 3 * ulp / 2), Float.MAX_VALUE,
                Float.intBitsToFloat(0x7f7f7fff), Float.MIN_VALUE, Float.intBitsToFloat(0x7f800001)};
        float[] y2 = roundTrip(GgmlType.BF16, t);
        assertThat(Arrays.copyOf(y2, 7)).containsExactly(1f, 1 + 2 * ulp, 1 + ulp, -(1 + 2 * ulp),
                Float.POSITIVE_INFINITY, Float.intBitsToFloat(0x7f7f0000), 0f);
        assertThat(y2[7]).isNaN(); // a signalling NaN whose payload is all below bit 16 must not become infinity

        Random r = new Random(4);
        float[] g = fill(8192, i -> r.nextGaussian() * Math.pow(10, i % 41 - 20));
        float[] yg = roundTrip(GgmlType.BF16, g);
        for (int i = 0; i < g.length; i++) {
            int bits = Float.floatToRawIntBits(g[i]);
            float lo = Float.intBitsToFloat(bits & 0xffff0000), hi = Float.intBitsToFloat((bits & 0xffff0000) + 0x10000);
            float best = Math.abs(g[i] - lo) <= Math.abs(hi - g[i]) ? lo : hi;
            assertThat(Math.abs(yg[i] - g[i])).as("value %d", i).isEqualTo(Math.abs(best - g[i]));
        }
    }

    // ---------------------------------------------------------------- Q8_0 / Q4_0 rounding rules, by hand

    @Test
    void q8_0BytesFollowTheReferenceRounding() {
        // amax = 127 → d = 1 exactly: quants are roundf(x), halves away from zero
        float[] x = new float[32];
        float[] in = {127f, 2.5f, -2.5f, 0.5f, -0.5f, 1.4999999f, -126.5f, 0f};
        System.arraycopy(in, 0, x, 0, in.length);
        byte[] b = quantize(GgmlType.Q8_0, x);
        assertThat(b).hasSize(34);
        assertThat(KLayout.u16(b, 0)).isEqualTo(0x3c00); // fp16 1.0
        assertThat(Arrays.copyOfRange(b, 2, 10)).containsExactly(127, 3, -3, 1, -1, 1, -127, 0);

        // d = amax/127 rounded to fp16 for storage, but quants use the unrounded 1/d
        float[] y = new float[32];
        Arrays.fill(y, 0.1f);
        y[31] = -1f;
        byte[] c = quantize(GgmlType.Q8_0, y);
        assertThat(KLayout.u16(c, 0)).isEqualTo(Float.floatToFloat16(1f / 127f) & 0xFFFF);
        assertThat(c[2 + 31]).isEqualTo((byte) -127);
        assertThat(c[2]).isEqualTo((byte) Math.round(0.1f * (1f / (1f / 127f)))); // 12.7 → 13
    }

    @Test
    void q4_0BytesFollowTheReferenceRounding() {
        // max = -8 (largest magnitude, negative) → d = 1, id = 1, q = min(15, (int) (x + 8.5))
        float[] x = new float[32];
        x[0] = -8f;    // q 0
        x[1] = 7.9f;   // 16.4 → clamped to 15
        x[2] = -0.5f;  // 8.0 → 8
        x[3] = 0.5f;   // 9.0 → 9
        x[4] = -0.51f; // 7.99 → 7
        x[16] = 3f;    // element 16 → high nibble of byte 0
        x[31] = -2f;   // element 31 → high nibble of byte 15
        byte[] b = quantize(GgmlType.Q4_0, x);
        assertThat(b).hasSize(18);
        assertThat(KLayout.u16(b, 0)).isEqualTo(0x3c00); // d = 1.0
        assertThat(b[2] & 0xFF).isEqualTo(0 | 11 << 4);
        assertThat(b[3] & 0xFF).isEqualTo(15 | 8 << 4);
        assertThat(b[4] & 0xFF).isEqualTo(8 | 8 << 4);
        assertThat(b[5] & 0xFF).isEqualTo(9 | 8 << 4);
        assertThat(b[6] & 0xFF).isEqualTo(7 | 8 << 4);
        assertThat(b[17] & 0xFF).isEqualTo(8 | 6 << 4);
        float[] y = dequantize(GgmlType.Q4_0, b, 32);
        assertThat(y[1]).isEqualTo(7f);  // +7.9 can only reach +7 when the max is negative
        assertThat(y[16]).isEqualTo(3f);

        // equal magnitudes: the first one sets the sign of d
        float[] p = new float[32], n = new float[32];
        p[3] = 4f;
        p[7] = -4f;
        n[3] = -4f;
        n[7] = 4f;
        assertThat(KLayout.f16(quantize(GgmlType.Q4_0, p), 0)).isEqualTo(-0.5f);
        assertThat(KLayout.f16(quantize(GgmlType.Q4_0, n), 0)).isEqualTo(0.5f);
    }

    // ---------------------------------------------------------------- block round trips

    /** Random rows: Gaussian, uniform and heavy-tailed blocks at magnitudes from 1e-3 to 3e2. */
    private static float[] randomRow(long seed, int n) {
        Random r = new Random(seed);
        double[] scales = {1e-3, 0.02, 1, 300};
        return fill(n, i -> {
            int block = i / 256;
            double s = scales[block % scales.length];
            return switch ((block / scales.length) % 3) {
                case 0 -> r.nextGaussian() * s;
                case 1 -> (r.nextDouble() * 2 - 1) * s;
                default -> r.nextGaussian() * s * (r.nextInt(50) == 0 ? 15 : 1);
            };
        });
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void blockRoundTripOnRandomDataIsWithinTheFormatsError(GgmlType type) {
        float[] x = randomRow(11, 256 * 48);
        double worst = checkBlockRoundTrip(type, x);
        System.out.printf("[round trip %s] random: worst error = %.3f of the allowed%n", type, worst);
        assertThat(worst).isGreaterThan(0.2); // the bound is tight enough to mean something
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void blockRoundTripOnEdgeBlocksIsWithinTheFormatsError(GgmlType type) {
        int n = 256;
        List<float[]> cases = edgeCases(n);
        for (int c = 0; c < cases.size(); c++) {
            float[] x = cases.get(c);
            try {
                checkBlockRoundTrip(type, x);
            } catch (AssertionError e) {
                throw new AssertionError("edge case " + c + ": " + e.getMessage(), e);
            }
        }
        // the unambiguous ones, exactly
        for (float e : roundTrip(type, new float[n])) assertThat(e).isZero();
        for (float v : new float[] {0.37f, -0.37f}) {
            for (float e : roundTrip(type, fill(n, i -> v))) {
                assertThat(Math.abs(e - v)).isLessThanOrEqualTo(Math.abs(v) * 0x1p-10f);
            }
        }
    }

    /**
     * Checks dequantize(quantize(x)) for every block of {@code x}; returns the worst error as a fraction of the
     * allowed error.
     * <ul>
     *   <li>Q8_0 / Q4_0: the closed-form bound of {@link Bounds#elementBound} (half a step, Q4_0's +8 edge, fp16
     *       rounding of the scale).</li>
     *   <li>K-quants: each value decodes to the level of its sub-block's grid nearest to it (the re-rounding
     *       against the stored scales is exact), and no value is farther from its grid than the format's
     *       coverage allows: 2.5 of the super-block's largest sub-block step (the reference fits may leave the
     *       extreme value of a group up to ~1.9 steps outside, plus the 6/8-bit rounding of the scales) plus half
     *       of the min step, plus the fp16 rounding of {@code d} and {@code dmin} times their largest factors.</li>
     * </ul>
     */
    private static double checkBlockRoundTrip(GgmlType type, float[] x) {
        byte[] bytes = quantize(type, x);
        assertThat(bytes).hasSize((int) type.bytesFor(x.length));
        float[] y = dequantize(type, bytes, x.length);
        double worst = 0;
        int bs = type.blockSize;
        for (int b = 0; b < x.length / bs; b++) {
            int off = b * bs;
            float amax = 0;
            for (int i = 0; i < bs; i++) amax = Math.max(amax, Math.abs(x[off + i]));
            float slack = 8 * Math.ulp(amax);
            if (type == GgmlType.Q8_0 || type == GgmlType.Q4_0) {
                for (int i = 0; i < bs; i++) {
                    float bound = Bounds.elementBound(type, x, off, x[off + i]);
                    float err = Math.abs(y[off + i] - x[off + i]);
                    assertThat(err).as("%s block %d value %d: %s → %s", type, b, i, x[off + i], y[off + i])
                            .isLessThanOrEqualTo(bound);
                    if (bound > 0) worst = Math.max(worst, err / bound);
                }
                continue;
            }
            byte[] blk = Arrays.copyOfRange(bytes, b * type.blockBytes, (b + 1) * type.blockBytes);
            float[][] grids = KGrids.grids(type, blk);
            float coverage = KGrids.coverage(type, blk) + slack;
            for (int i = 0; i < bs; i++) {
                float[] grid = grids[i / (type == GgmlType.Q6_K ? 16 : 32)];
                float v = x[off + i];
                float nearest = Float.POSITIVE_INFINITY;
                for (float level : grid) nearest = Math.min(nearest, Math.abs(level - v));
                float err = Math.abs(y[off + i] - v);
                assertThat(err).as("%s block %d value %d: %s → %s, nearest level at %s", type, b, i, v, y[off + i], nearest)
                        .isLessThanOrEqualTo(nearest + slack);
                assertThat(err).as("%s block %d value %d: %s → %s", type, b, i, v, y[off + i])
                        .isLessThanOrEqualTo(coverage);
                if (coverage > 0) worst = Math.max(worst, err / coverage);
            }
        }
        return worst;
    }

    /** The decoded levels of K-quant blocks, read through the documented layout ({@link KLayout}). */
    private static final class KGrids {
        static float[][] grids(GgmlType type, byte[] blk) {
            if (type == GgmlType.Q6_K) {
                float d = KLayout.f16(blk, 208);
                float[][] g = new float[16][64];
                for (int j = 0; j < 16; j++) {
                    for (int q = 0; q < 64; q++) g[j][q] = d * blk[192 + j] * (q - 32);
                }
                return g;
            }
            int levels = type == GgmlType.Q4_K ? 16 : 32;
            float d = KLayout.f16(blk, 0), dmin = KLayout.f16(blk, 2);
            int[] sc = KLayout.unpackScales(blk, 4), m = KLayout.unpackMins(blk, 4);
            float[][] g = new float[8][levels];
            for (int j = 0; j < 8; j++) {
                for (int q = 0; q < levels; q++) g[j][q] = (d * sc[j]) * q - (dmin * m[j]);
            }
            return g;
        }

        static float coverage(GgmlType type, byte[] blk) {
            if (type == GgmlType.Q6_K) {
                float d = KLayout.f16(blk, 208);
                float maxStep = 0;
                for (int j = 0; j < 16; j++) maxStep = Math.max(maxStep, Math.abs(d * blk[192 + j]));
                return 2.5f * maxStep + 32 * 128 * f16Ulp(d);
            }
            int nmax = type == GgmlType.Q4_K ? 15 : 31;
            float d = KLayout.f16(blk, 0), dmin = KLayout.f16(blk, 2);
            int maxSc = Arrays.stream(KLayout.unpackScales(blk, 4)).max().orElseThrow();
            return 2.5f * d * maxSc + 0.5f * dmin + nmax * 63 * f16Ulp(d) + 63 * f16Ulp(dmin);
        }
    }

    // ---------------------------------------------------------------- error order on Gaussian data

    @Test
    void errorOnGaussianDataOrdersTheFormatsByBits() {
        Random r = new Random(5);
        float[] x = fill(256 * 256, i -> r.nextGaussian());
        GgmlType[] order = {GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0};
        double[] rms = new double[order.length];
        StringBuilder report = new StringBuilder("[error order] rms error on N(0,1):");
        for (int k = 0; k < order.length; k++) {
            float[] y = roundTrip(order[k], x);
            double se = 0;
            for (int i = 0; i < x.length; i++) se += (double) (y[i] - x[i]) * (y[i] - x[i]);
            rms[k] = Math.sqrt(se / x.length);
            report.append(String.format(" %s %.5f", order[k], rms[k]));
        }
        System.out.println(report);
        for (int k = 1; k < order.length; k++) {
            assertThat(rms[k]).as("%s error below %s's", order[k], order[k - 1]).isLessThan(rms[k - 1]);
        }
        // uniform rounding error is step/sqrt(12); the steps are about (range of a block) / (levels - 1)
        assertThat(rms[0]).isBetween(0.05, 0.12); // Q4_0: step ≈ amax/8
        assertThat(rms[1]).isLessThan(0.09);       // Q4_K: 16 levels over each sub-block's own range
        assertThat(rms[2]).isLessThan(0.045);      // Q5_K: 32 levels
        assertThat(rms[3]).isLessThan(0.025);      // Q6_K: 64 levels
        assertThat(rms[4]).isLessThan(0.01);       // Q8_0: step ≈ amax/127
    }

    // ---------------------------------------------------------------- row API contract

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void rowsHonourOffsetsAndTouchOnlyTheirBytes(GgmlType type) {
        int n = 512;
        float[] x = randomRow(21, n);
        float[] padded = new float[n + 7];
        System.arraycopy(x, 0, padded, 7, n);
        byte[] whole = quantize(type, x);

        int pad = 5;
        byte[] dst = new byte[whole.length + 2 * pad];
        Arrays.fill(dst, (byte) 0x5A);
        MemorySegment seg = MemorySegment.ofArray(dst);
        // two halves at an odd (unaligned) offset must give the bytes of the whole row
        type.encode(padded, 7, n / 2, seg, pad);
        type.encode(padded, 7 + n / 2, n / 2, seg, pad + type.bytesFor(n / 2));
        assertThat(Arrays.copyOfRange(dst, pad, pad + whole.length)).isEqualTo(whole);
        for (int i = 0; i < pad; i++) {
            assertThat(dst[i]).isEqualTo((byte) 0x5A);
            assertThat(dst[dst.length - 1 - i]).isEqualTo((byte) 0x5A);
        }

        float[] out = new float[n + 6];
        Arrays.fill(out, -42f);
        type.decode(seg, pad, out, 3, n);
        assertThat(Arrays.copyOfRange(out, 3, 3 + n)).containsExactly(dequantize(type, whole, n));
        assertThat(new float[] {out[0], out[1], out[2], out[n + 3], out[n + 4], out[n + 5]}).containsOnly(-42f);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void rowsRejectPartialBlocksAndShortArrays(GgmlType type) {
        MemorySegment seg = MemorySegment.ofArray(new byte[4096]);
        assertThatThrownBy(() -> type.encode(new float[1024], 0, type.blockSize + 1, seg, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multiple");
        assertThatThrownBy(() -> type.decode(seg, 0, new float[1024], 0, type.blockSize / 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multiple");
        assertThatThrownBy(() -> type.decode(seg, 0, new float[type.blockSize], 1, type.blockSize))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> type.encode(new float[type.blockSize], 0, type.blockSize, seg, 4096 - 1))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }
}
