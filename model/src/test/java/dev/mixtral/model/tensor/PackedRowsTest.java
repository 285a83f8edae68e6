package dev.mixtral.model.tensor;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PackedRowsTest {
    static float[] sample() {
        Random r = new Random(7);
        float[] v = new float[257];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * 3;
        v[0] = -0f;
        v[1] = Float.MIN_VALUE;
        v[2] = Float.MAX_VALUE;
        v[3] = Float.NEGATIVE_INFINITY;
        return v;
    }

    @Test
    void f32RoundTripsBitForBitLittleEndian() {
        float[] v = sample();
        byte[] packed = PackedRows.pack(v, GgmlType.F32);
        assertThat(packed).hasSize(v.length * 4);
        assertThat(packed[0]).isZero(); // -0f = 0x80000000: sign byte last
        assertThat(packed[3]).isEqualTo((byte) 0x80);
        float[] back = PackedRows.unpack(ByteBuffer.wrap(packed), GgmlType.F32, v.length);
        for (int i = 0; i < v.length; i++) {
            assertThat(Float.floatToRawIntBits(back[i])).isEqualTo(Float.floatToRawIntBits(v[i]));
        }
    }

    @Test
    void halfTypesRoundToNearestAsHalfFloatsDoes() {
        float[] v = sample();
        float[] bf = PackedRows.unpack(ByteBuffer.wrap(PackedRows.pack(v, GgmlType.BF16)), GgmlType.BF16, v.length);
        float[] f16 = PackedRows.unpack(ByteBuffer.wrap(PackedRows.pack(v, GgmlType.F16)), GgmlType.F16, v.length);
        for (int i = 0; i < v.length; i++) {
            assertThat(bf[i]).isEqualTo(HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v[i])));
            assertThat(f16[i]).isEqualTo(HalfFloats.roundToF16(v[i]));
        }
    }

    @Test
    void wrongSizesAndTypesAreRejected() {
        assertThatThrownBy(() -> PackedRows.unpack(ByteBuffer.allocate(10), GgmlType.F32, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected 12 bytes");
        assertThatThrownBy(() -> PackedRows.pack(new float[1], GgmlType.Q8_0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Q8_0");
    }
}
