package dev.mixtral.model.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * K-quant bit layouts: blocks built by hand from known scales, mins and quants (packed by {@link KLayout}
 * from the documented layout) must decode to {@code (d·sc)·q − (dmin·m)} — computed here in ggml's
 * operation order, so bit for bit — and the codecs' own packing must agree with the hand packing.
 */
class QuantKLayoutTest {

    private static void assertBitsEqual(float[] actual, float[] expected, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.floatToRawIntBits(actual[i])).as("%s value %d (%s vs %s)", what, i, actual[i], expected[i])
                    .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
    }

    private static float[] decode(GgmlType type, byte[] block) {
        float[] y = new float[256];
        type.decode(MemorySegment.ofArray(block), 0, y, 0, 256);
        return y;
    }

    @Test
    void q4KHandBuiltBlockDecodesToScaleTimesQuantMinusMin() {
        // distinct, recognisable parameters: every scale/min uses the high bits on some sub-block
        int[] sc = {1, 63, 17, 32, 48, 5, 60, 33};
        int[] m = {62, 0, 31, 16, 7, 63, 40, 21};
        int[] q = new int[256];
        for (int v = 0; v < 256; v++) q[v] = (v * 7 + v / 32) % 16;
        short d = Float.floatToFloat16(0.0123f), dmin = Float.floatToFloat16(0.0456f);
        byte[] block = KLayout.buildQ4K(d, dmin, sc, m, q);

        float df = Float.float16ToFloat(d), mf = Float.float16ToFloat(dmin);
        float[] expected = new float[256];
        for (int v = 0; v < 256; v++) {
            int j = v / 32;
            expected[v] = (df * sc[j]) * q[v] - (mf * m[j]);
        }
        assertBitsEqual(decode(GgmlType.Q4_K, block), expected, "Q4_K");
        // spot checks by hand: value 0 is sub-block 0, q = 0 → −dmin·62; value 32 is sub-block 1 (scale 63)
        assertThat(expected[0]).isEqualTo(-(mf * 62));
        assertThat(decode(GgmlType.Q4_K, block)[32]).isEqualTo((df * 63) * q[32] - 0f);
    }

    @Test
    void q5KHandBuiltBlockUsesTheFifthBitFromQh() {
        int[] sc = {63, 2, 40, 16, 1, 50, 31, 47};
        int[] m = {3, 63, 0, 44, 20, 9, 58, 32};
        int[] q = new int[256];
        for (int v = 0; v < 256; v++) q[v] = (v * 11 + 3) % 32;
        short d = Float.floatToFloat16(0.5f), dmin = Float.floatToFloat16(0.25f);
        byte[] block = KLayout.buildQ5K(d, dmin, sc, m, q);

        float df = Float.float16ToFloat(d), mf = Float.float16ToFloat(dmin);
        float[] expected = new float[256];
        for (int v = 0; v < 256; v++) {
            int j = v / 32;
            expected[v] = (df * sc[j]) * q[v] - (mf * m[j]);
        }
        assertBitsEqual(decode(GgmlType.Q5_K, block), expected, "Q5_K");
        // all quants with the fifth bit set, on an otherwise zero block: the qh bits alone give 16·d·sc
        int[] sixteen = new int[256];
        java.util.Arrays.fill(sixteen, 16);
        float[] y = decode(GgmlType.Q5_K, KLayout.buildQ5K(d, dmin, sc, new int[8], sixteen));
        for (int v = 0; v < 256; v++) assertThat(y[v]).isEqualTo(16 * 0.5f * sc[v / 32]);
    }

    @Test
    void q6KHandBuiltBlockHasSignedScalesAndOffsetQuants() {
        int[] sc = {-128, 127, -1, 1, 64, -64, 0, 100, -100, 3, -3, 50, -50, 7, 120, -7};
        int[] q = new int[256];
        for (int v = 0; v < 256; v++) q[v] = (v * 13 + v / 16) % 64;
        short d = Float.floatToFloat16(0.003f);
        byte[] block = KLayout.buildQ6K(d, sc, q);

        float df = Float.float16ToFloat(d);
        float[] expected = new float[256];
        for (int v = 0; v < 256; v++) expected[v] = df * sc[v / 16] * (q[v] - 32);
        assertBitsEqual(decode(GgmlType.Q6_K, block), expected, "Q6_K");
        assertThat(decode(GgmlType.Q6_K, block)[0]).isEqualTo(df * -128 * (q[0] - 32));
    }

    @Test
    void randomHandBuiltKBlocksDecodeBitExactly() {
        Random r = new Random(42);
        for (int trial = 0; trial < 200; trial++) {
            int[] sc = new int[8], m = new int[8], q4 = new int[256], q5 = new int[256], q6 = new int[256];
            int[] sc6 = new int[16];
            for (int j = 0; j < 8; j++) {
                sc[j] = r.nextInt(64);
                m[j] = r.nextInt(64);
            }
            for (int j = 0; j < 16; j++) sc6[j] = r.nextInt(256) - 128;
            for (int v = 0; v < 256; v++) {
                q4[v] = r.nextInt(16);
                q5[v] = r.nextInt(32);
                q6[v] = r.nextInt(64);
            }
            short d = Float.floatToFloat16((float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 5)));
            short dmin = Float.floatToFloat16((float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 5)));
            float df = Float.float16ToFloat(d), mf = Float.float16ToFloat(dmin);
            float[] e4 = new float[256], e5 = new float[256], e6 = new float[256];
            for (int v = 0; v < 256; v++) {
                int j = v / 32;
                e4[v] = (df * sc[j]) * q4[v] - (mf * m[j]);
                e5[v] = (df * sc[j]) * q5[v] - (mf * m[j]);
                e6[v] = (df * sc6[v / 16]) * (q6[v] - 32);
            }
            assertBitsEqual(decode(GgmlType.Q4_K, KLayout.buildQ4K(d, dmin, sc, m, q4)), e4, "Q4_K trial " + trial);
            assertBitsEqual(decode(GgmlType.Q5_K, KLayout.buildQ5K(d, dmin, sc, m, q5)), e5, "Q5_K trial " + trial);
            assertBitsEqual(decode(GgmlType.Q6_K, KLayout.buildQ6K(d, sc6, q6)), e6, "Q6_K trial " + trial);
        }
    }

    @Test
    void quantizersPackTheirChoicesExactlyAsTheHandPacker() {
        // Quantize real data, read the block's parameters and quants back through the documented layout,
        // re-pack them by hand: the bytes must be identical (so quantizer and layout agree on every field).
        Random r = new Random(7);
        float[] x = new float[256];
        for (int trial = 0; trial < 50; trial++) {
            for (int i = 0; i < 256; i++) x[i] = (float) (r.nextGaussian() * (1 + i % 7));
            for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                byte[] bytes = new byte[t.blockBytes];
                t.encode(x, 0, 256, MemorySegment.ofArray(bytes), 0);
                byte[] repacked = switch (t) {
                    case Q4_K -> {
                        int[] q = new int[256];
                        for (int v = 0; v < 256; v++) {
                            int b = bytes[16 + 32 * (v / 64) + v % 32] & 0xFF;
                            q[v] = v % 64 < 32 ? b & 15 : b >> 4;
                        }
                        yield KLayout.buildQ4K((short) KLayout.u16(bytes, 0), (short) KLayout.u16(bytes, 2),
                                KLayout.unpackScales(bytes, 4), KLayout.unpackMins(bytes, 4), q);
                    }
                    case Q5_K -> {
                        int[] q = new int[256];
                        for (int v = 0; v < 256; v++) {
                            int b = bytes[48 + 32 * (v / 64) + v % 32] & 0xFF;
                            int hi = (bytes[16 + v % 32] >> (v / 32)) & 1;
                            q[v] = (v % 64 < 32 ? b & 15 : b >> 4) | hi << 4;
                        }
                        yield KLayout.buildQ5K((short) KLayout.u16(bytes, 0), (short) KLayout.u16(bytes, 2),
                                KLayout.unpackScales(bytes, 4), KLayout.unpackMins(bytes, 4), q);
                    }
                    default -> {
                        int[] q = new int[256], sc = new int[16];
                        for (int v = 0; v < 256; v++) {
                            int half = v / 128, k = (v % 128) / 32, l = v % 32;
                            int lo = bytes[64 * half + l + 32 * (k & 1)] & 0xFF;
                            int hi = (bytes[128 + 32 * half + l] >> (2 * k)) & 3;
                            q[v] = (k < 2 ? lo & 15 : lo >> 4) | hi << 4;
                        }
                        for (int j = 0; j < 16; j++) sc[j] = bytes[192 + j];
                        yield KLayout.buildQ6K((short) KLayout.u16(bytes, 208), sc, q);
                    }
                };
                assertThat(repacked).as("%s trial %d", t, trial).isEqualTo(bytes);
            }
        }
    }
}
