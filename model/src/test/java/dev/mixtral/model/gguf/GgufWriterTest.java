package dev.mixtral.model.gguf;

import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.HalfFloats;
import dev.mixtral.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufWriterTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path tmp;

    /** One value of every scalar type, one array of every element type, and an array of arrays. */
    private static Map<String, GgufValue> allTypes() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("t.u8", GgufValue.of(GgufValueType.UINT8, 255L));
        m.put("t.i8", GgufValue.of(GgufValueType.INT8, -128L));
        m.put("t.u16", GgufValue.of(GgufValueType.UINT16, 65535L));
        m.put("t.i16", GgufValue.of(GgufValueType.INT16, -32768L));
        m.put("t.u32", GgufValue.u32(4294967295L));
        m.put("t.i32", GgufValue.of(GgufValueType.INT32, -2147483648L));
        m.put("t.f32", GgufValue.f32(1e-5f));
        m.put("t.bool", GgufValue.bool(true));
        m.put("t.string", GgufValue.string("héllo ▁wörld\n{{ bos_token }}"));
        m.put("t.u64", GgufValue.of(GgufValueType.UINT64, Long.MAX_VALUE));
        m.put("t.i64", GgufValue.of(GgufValueType.INT64, Long.MIN_VALUE));
        m.put("t.f64", GgufValue.of(GgufValueType.FLOAT64, Math.PI));
        m.put("a.u8", GgufValue.array(GgufValueType.UINT8, new long[] {0, 1, 255}));
        m.put("a.i8", GgufValue.array(GgufValueType.INT8, new long[] {-128, 0, 127}));
        m.put("a.u16", GgufValue.array(GgufValueType.UINT16, new long[] {0, 65535}));
        m.put("a.i16", GgufValue.array(GgufValueType.INT16, new long[] {-32768, 32767}));
        m.put("a.u32", GgufValue.array(GgufValueType.UINT32, new long[] {0, 4294967295L}));
        m.put("a.i32", GgufValue.array(GgufValueType.INT32, new long[] {-1, 2, 3}));
        m.put("a.f32", GgufValue.array(GgufValueType.FLOAT32, new float[] {-0.5f, Float.MAX_VALUE, Float.MIN_VALUE}));
        m.put("a.bool", GgufValue.array(GgufValueType.BOOL, new boolean[] {true, false, true}));
        m.put("a.string", GgufValue.array(GgufValueType.STRING, new String[] {"<unk>", "", "▁the"}));
        m.put("a.u64", GgufValue.array(GgufValueType.UINT64, new long[] {-1L, 7}));
        m.put("a.i64", GgufValue.array(GgufValueType.INT64, new long[] {Long.MIN_VALUE, Long.MAX_VALUE}));
        m.put("a.f64", GgufValue.array(GgufValueType.FLOAT64, new double[] {1.0 / 3, -0.0}));
        m.put("a.empty", GgufValue.array(GgufValueType.INT32, new long[0]));
        m.put("a.nested", GgufValue.array(GgufValueType.ARRAY, new GgufValue[] {
                GgufValue.array(GgufValueType.STRING, new String[] {"x", "y"}),
                GgufValue.array(GgufValueType.FLOAT32, new float[] {2.5f})}));
        return m;
    }

    @Test
    void metadataOfEveryTypeRoundTrips() {
        Path file = tmp.resolve("meta.gguf");
        Map<String, GgufValue> expected = allTypes();
        try (GgufWriter w = GgufWriter.create(file)) {
            w.putAll(expected);
            w.start();
            w.finish();
        }
        try (GgufFile f = GgufFile.open(file)) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.metadata().keySet()).containsExactlyElementsOf(expected.keySet());
            for (var e : expected.entrySet()) {
                GgufValue got = f.value(e.getKey());
                assertThat(got.type()).as(e.getKey()).isEqualTo(e.getValue().type());
                assertThat(got.elementType()).as(e.getKey()).isEqualTo(e.getValue().elementType());
                if (e.getValue().value() instanceof GgufValue[] nested) {
                    GgufValue[] back = (GgufValue[]) got.value();
                    assertThat(back).hasSize(nested.length);
                    for (int i = 0; i < nested.length; i++) {
                        assertThat(back[i].elementType()).isEqualTo(nested[i].elementType());
                        assertThat(back[i].value()).isEqualTo(nested[i].value());
                    }
                } else {
                    assertThat(got.value()).as(e.getKey()).isEqualTo(e.getValue().value());
                }
            }
            assertThat(f.tensorInfos()).isEmpty();
            assertThat(f.dataOffset() % 32).isZero();
        }
    }

    @Test
    void tensorsAreAlignedAndHoldWhatWasWritten() throws Exception {
        Path file = tmp.resolve("tensors.gguf");
        int cols = 96, rows = 37;
        try (GgufWriter w = GgufWriter.create(file)) {
            w.put("general.architecture", GgufValue.string("llama"));
            w.put("general.alignment", GgufValue.u32(64));
            w.addTensor("a.f32", GgmlType.F32, cols, rows);
            w.addTensor("odd.f32", GgmlType.F32, 3);          // 12 bytes: the next tensor must be re-aligned
            w.addTensor("b.f16", GgmlType.F16, cols, rows, 2);
            w.addTensor("c.bf16", GgmlType.BF16, cols, 5);
            w.addTensor("d.q8_0", GgmlType.Q8_0, 64, 3);        // filled as raw blocks through data()
            w.start();
            // rows written concurrently, in scrambled order
            IntStream.range(0, rows * 2).parallel().map(i -> (i * 17) % (rows * 2)).forEach(r -> {
                float[] row = row(r, cols);
                if (r < rows) w.writeRow("a.f32", r, row, 0);
                w.writeRow("b.f16", r, row, 0);
            });
            float[] two = new float[2 * cols + 1];
            System.arraycopy(row(0, cols), 0, two, 1, cols);
            System.arraycopy(row(1, cols), 0, two, 1 + cols, cols);
            w.writeRows("c.bf16", 3, 2, two, 1);
            w.writeRow("odd.f32", 0, new float[] {1, 2, 3}, 0);
            MemorySegment q = w.data("d.q8_0");
            for (long i = 0; i < q.byteSize(); i++) q.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
            assertThat(Files.exists(file)).isFalse();   // only the .part file exists until finish()
            w.finish();
        }
        assertThat(Files.exists(tmp.resolve("tensors.gguf.part"))).isFalse();
        try (GgufFile f = GgufFile.open(file)) {
            assertThat(f.dataOffset() % 64).isZero();
            assertThat(f.fileSize() % 64).isZero();
            List<GgufFile.TensorInfo> infos = f.tensorInfos();
            assertThat(infos).extracting(GgufFile.TensorInfo::name)
                    .containsExactly("a.f32", "odd.f32", "b.f16", "c.bf16", "d.q8_0");
            for (GgufFile.TensorInfo t : infos) assertThat(t.offset() % 64).as(t.name()).isZero();
            assertThat(f.tensorInfo("b.f16").shape()).containsExactly(cols, rows, 2);
            assertThat(f.tensorInfo("b.f16").type()).isEqualTo(GgmlType.F16);

            Tensor a = f.tensor("a.f32");
            Tensor b = f.tensor("b.f16");
            for (int r = 0; r < rows * 2; r++) {
                float[] row = row(r, cols);
                for (int c = 0; c < cols; c++) {
                    long i = (long) r * cols + c;
                    if (r < rows) assertThat(a.data().getAtIndex(F32, i)).isEqualTo(row[c]);
                    assertThat(Float.float16ToFloat(b.data().getAtIndex(I16, i))).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(row[c])));
                }
            }
            Tensor c = f.tensor("c.bf16");
            for (int r = 0; r < 5; r++) {
                for (int k = 0; k < cols; k++) {
                    float v = HalfFloats.bf16ToF32(c.data().getAtIndex(I16, (long) r * cols + k));
                    float expected = r == 3 ? row(0, cols)[k] : r == 4 ? row(1, cols)[k] : 0f;
                    assertThat(v).isEqualTo(expected);  // row() values are bf16-exact
                }
            }
            Tensor odd = f.tensor("odd.f32");
            assertThat(odd.data().toArray(F32)).containsExactly(1, 2, 3);
            Tensor d = f.tensor("d.q8_0");
            assertThat(d.data().byteSize()).isEqualTo(3 * 2 * 34);
            for (long i = 0; i < d.data().byteSize(); i++) {
                assertThat(d.data().get(ValueLayout.JAVA_BYTE, i)).isEqualTo((byte) (i * 7));
            }
        }
    }

    /** bf16-representable test values, distinct per row. */
    private static float[] row(int r, int cols) {
        float[] v = new float[cols];
        for (int c = 0; c < cols; c++) {
            v[c] = HalfFloats.bf16ToF32(HalfFloats.f32ToBf16((float) Math.sin(r * 31.0 + c) * (1 + r)));
        }
        return v;
    }

    @Test
    void closingWithoutFinishLeavesNoFile() {
        Path file = tmp.resolve("aborted.gguf");
        try (GgufWriter w = GgufWriter.create(file)) {
            w.addTensor("x", GgmlType.F32, 8);
            w.start();
            w.writeRow("x", 0, new float[8], 0);
        }
        assertThat(Files.exists(file)).isFalse();
        assertThat(Files.exists(tmp.resolve("aborted.gguf.part"))).isFalse();
    }

    @Test
    void rejectsMistypedValuesAndBadShapes() {
        GgufWriter w = GgufWriter.create(tmp.resolve("bad.gguf"));
        assertThatThrownBy(() -> w.put("k", GgufValue.of(GgufValueType.UINT32, 1.5f)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'k'");
        assertThatThrownBy(() -> w.put("k", GgufValue.of(GgufValueType.UINT8, 256L)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.put("general.alignment", GgufValue.u32(24)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addTensor("q", GgmlType.Q8_0, 48, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q");
        w.addTensor("t", GgmlType.F32, 4);
        assertThatThrownBy(() -> w.addTensor("t", GgmlType.F32, 4)).isInstanceOf(IllegalArgumentException.class);
    }
}
