package dev.mixtral.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.TestData;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.HalfFloats;
import dev.mixtral.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path tmp;

    /** Distinct bf16-exact values (exact in F32, BF16 and, for these magnitudes, F16). */
    private static float value(String tensor, long i) {
        return HalfFloats.bf16ToF32(HalfFloats.f32ToBf16((float) Math.sin(tensor.hashCode() * 0.001 + i * 0.37)));
    }

    private static float[] row(String tensor, long row, int cols) {
        float[] v = new float[cols];
        for (int c = 0; c < cols; c++) v[c] = value(tensor, row * cols + c);
        return v;
    }

    private static float read(Tensor t, long i) {
        return switch (t.type()) {
            case F32 -> t.data().getAtIndex(F32, i);
            case F16 -> Float.float16ToFloat(t.data().getAtIndex(I16, i));
            case BF16 -> HalfFloats.bf16ToF32(t.data().getAtIndex(I16, i));
            default -> throw new AssertionError(t.type());
        };
    }

    private record Spec(String name, GgmlType type, long cols, long rows) {}

    private static final List<Spec> SPECS = List.of(
            new Spec("model.embed_tokens.weight", GgmlType.BF16, 48, 100),
            new Spec("model.norm.weight", GgmlType.F32, 48, 1),
            new Spec("model.layers.0.self_attn.q_proj.weight", GgmlType.F16, 48, 48),
            new Spec("model.layers.0.self_attn.k_proj.weight", GgmlType.F32, 48, 16),
            new Spec("lm_head.weight", GgmlType.F32, 48, 100));

    private void write(Path dir, long shardBytes) {
        try (SafetensorsWriter w = SafetensorsWriter.create(dir, shardBytes)) {
            for (Spec s : SPECS) {
                if (s.rows == 1) w.addTensor(s.name, s.type, s.cols);
                else w.addTensor(s.name, s.type, s.cols, s.rows);
            }
            w.start();
            // every row of every tensor, in parallel
            IntStream.range(0, SPECS.size()).boxed()
                    .flatMap(t -> IntStream.range(0, (int) SPECS.get(t).rows).mapToObj(r -> new int[] {t, r}))
                    .parallel()
                    .forEach(tr -> {
                        Spec s = SPECS.get(tr[0]);
                        w.writeRow(s.name, tr[1], row(s.name, tr[1], (int) s.cols), 0);
                    });
            w.finish();
        }
    }

    private static void assertHoldsSpecs(SafetensorsCheckpoint ckpt) {
        assertThat(ckpt.names()).containsExactlyInAnyOrderElementsOf(SPECS.stream().map(Spec::name).toList());
        long mapped = 0;
        for (Spec s : SPECS) {
            assertThat(ckpt.has(s.name)).isTrue();
            Tensor t = ckpt.tensor(s.name);
            mapped += t.type().bytesFor(s.cols * s.rows);
            assertThat(ckpt.mappedBytes()).as("maps only the tensor asked for").isEqualTo(mapped);
            assertThat(t.type()).isEqualTo(s.type);
            if (s.rows == 1) assertThat(t.shape()).containsExactly(s.cols);
            else assertThat(t.shape()).as("ggml order").containsExactly(s.cols, s.rows);
            for (long i = 0; i < s.cols * s.rows; i++) {
                assertThat(read(t, i)).as(s.name + "[" + i + "]").isEqualTo(value(s.name, i));
            }
        }
    }

    @Test
    void singleFileRoundTrip() throws IOException {
        write(tmp, SafetensorsWriter.DEFAULT_SHARD_BYTES);
        assertThat(Files.list(tmp).map(p -> p.getFileName().toString())).containsExactly("model.safetensors");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(tmp)) {
            assertThat(ckpt.files()).hasSize(1);
            assertHoldsSpecs(ckpt);
        }
        // header as the reference writer lays it out: row-major shapes, __metadata__ first, 8-byte padding
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("model.safetensors"))) {
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.dataStart() % 8).isZero();
            assertThat(f.names()).containsExactlyElementsOf(SPECS.stream().map(Spec::name).toList());
            assertThat(f.entry("model.layers.0.self_attn.k_proj.weight").begin())
                    .isEqualTo(100 * 48 * 2 + 48 * 4 + 48 * 48 * 2);
        }
        byte[] bytes = Files.readAllBytes(tmp.resolve("model.safetensors"));
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
        assertThat(header.fieldNames().next()).isEqualTo("__metadata__");
        assertThat(header.get("model.layers.0.self_attn.k_proj.weight").get("shape").toString()).isEqualTo("[16,48]");
    }

    @Test
    void shardedRoundTripWithIndex() throws IOException {
        // 48*100*2 = 9600 bytes for the embeddings: a 12000-byte threshold gives several shards
        write(tmp, 12_000);
        Path index = tmp.resolve(SafetensorsCheckpoint.INDEX_FILE);
        assertThat(index).exists();
        assertThat(tmp.resolve("model.safetensors")).doesNotExist();
        JsonNode json = new ObjectMapper().readTree(index.toFile());
        assertThat(Files.readString(index)).as("json.dumps(indent=2, sort_keys=True) + newline, as transformers writes it")
                .startsWith("{\n  \"metadata\": {\n    \"total_size\": ")
                .contains("\n  \"weight_map\": {\n    \"lm_head.weight\": \"model-0000")
                .endsWith("\"\n  }\n}\n");
        long total = SPECS.stream().mapToLong(s -> s.type.bytesFor(s.cols * s.rows)).sum();
        assertThat(json.get("metadata").get("total_size").asLong()).isEqualTo(total);
        List<String> shardFiles = new ArrayList<>();
        json.get("weight_map").forEach(v -> { if (!shardFiles.contains(v.asText())) shardFiles.add(v.asText()); });
        assertThat(shardFiles).hasSizeGreaterThan(1).allMatch(s -> s.matches("model-0000\\d-of-0000\\d\\.safetensors"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(tmp)) {
            assertThat(ckpt.files()).hasSize(shardFiles.size());
            assertHoldsSpecs(ckpt);
        }
        // rewriting as one file replaces the stale index
        write(tmp, SafetensorsWriter.DEFAULT_SHARD_BYTES);
        assertThat(index).doesNotExist();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(tmp)) {
            assertThat(ckpt.files()).containsExactly(tmp.resolve("model.safetensors"));
        }
    }

    @Test
    void readsTheGoldenCheckpointsInGgmlOrder() {
        try (SafetensorsCheckpoint f32 = SafetensorsCheckpoint.open(TestData.hfCheckpoint("hf-f32"));
             SafetensorsCheckpoint bf16 = SafetensorsCheckpoint.open(TestData.hfCheckpoint("hf-bf16"))) {
            assertThat(f32.names()).hasSize(3 + 2 * (7 + 8 * 3));
            Tensor k = f32.tensor("model.layers.0.self_attn.k_proj.weight");
            assertThat(k.type()).isEqualTo(GgmlType.F32);
            assertThat(k.shape()).containsExactly(64, 32);
            assertThat(f32.tensor("model.layers.1.block_sparse_moe.experts.7.w2.weight").shape()).containsExactly(128, 64);
            assertThat(f32.mappedBytes()).isEqualTo(64 * 32 * 4 + 128 * 64 * 4);
            Tensor kb = bf16.tensor("model.layers.0.self_attn.k_proj.weight");
            assertThat(kb.type()).isEqualTo(GgmlType.BF16);
            for (long i = 0; i < k.elements(); i++) assertThat(read(kb, i)).isEqualTo(read(k, i));
        }
    }

    // ---- malformed files ------------------------------------------------------------------------

    /** A raw safetensors file with {@code header} as its JSON (length declared as given, or the true one when null) and {@code dataBytes} bytes of data. */
    private Path raw(String fileName, String header, Long declaredLength, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength == null ? json.length : declaredLength).put(json);
        Path p = tmp.resolve(fileName);
        Files.write(p, b.array());
        return p;
    }

    private static final String GOOD = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            + "\"b.weight\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]}}";

    @Test
    void wellFormedRawFileOpens() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(raw("ok.safetensors", GOOD, null, 32))) {
            assertThat(f.entry("a.weight").shape()).containsExactly(3, 2);
            assertThat(f.tensor("b.weight").data().byteSize()).isEqualTo(8);
        }
    }

    @Test
    void truncatedFileNamesFileAndTensor() throws IOException {
        Path p = raw("truncated.safetensors", GOOD, null, 30);
        assertThatThrownBy(() -> SafetensorsFile.open(p))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("truncated.safetensors")
                .hasMessageContaining("b.weight")
                .hasMessageContaining("truncated");
        // the same through a checkpoint directory
        Path dir = Files.createDirectory(tmp.resolve("ckpt"));
        Files.copy(p, dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("b.weight");
    }

    @Test
    void headerLengthBeyondTheFileIsReported() throws IOException {
        Path p = raw("badlen.safetensors", GOOD, 1L << 40, 32);
        assertThatThrownBy(() -> SafetensorsFile.open(p))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("badlen.safetensors")
                .hasMessageContaining("header length " + (1L << 40));
        Path negative = raw("neglen.safetensors", GOOD, -5L, 32);
        assertThatThrownBy(() -> SafetensorsFile.open(negative))
                .isInstanceOf(ModelFileException.class).hasMessageContaining("neglen.safetensors");
        // a length inside the file that cuts the JSON short
        Path cut = raw("cut.safetensors", GOOD, (long) GOOD.length() - 10, 32);
        assertThatThrownBy(() -> SafetensorsFile.open(cut))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("cut.safetensors").hasMessageContaining("not valid JSON");
        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(tiny))
                .isInstanceOf(ModelFileException.class).hasMessageContaining("tiny.safetensors");
    }

    @Test
    void unsupportedDtypeNamesFileTensorAndDtype() throws IOException {
        String header = GOOD.replace("\"BF16\"", "\"I64\"");
        Path p = raw("dtype.safetensors", header, null, 32);
        assertThatThrownBy(() -> SafetensorsFile.open(p))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("dtype.safetensors")
                .hasMessageContaining("b.weight")
                .hasMessageContaining("I64");
    }

    @Test
    void sizeThatDoesNotMatchDtypeAndShapeIsReported() throws IOException {
        String header = GOOD.replace("\"shape\":[4]", "\"shape\":[5]");
        Path p = raw("size.safetensors", header, null, 32);
        assertThatThrownBy(() -> SafetensorsFile.open(p))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("size.safetensors")
                .hasMessageContaining("b.weight")
                .hasMessageContaining("needs 10");
    }

    @Test
    void brokenCheckpointDirectoriesAreReported() throws IOException {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(empty))
                .isInstanceOf(ModelFileException.class).hasMessageContaining("empty").hasMessageContaining("model.safetensors");

        Path dir = Files.createDirectory(tmp.resolve("sharded"));
        write(dir, 12_000);
        // remove one shard: the index names it
        Path index = dir.resolve(SafetensorsCheckpoint.INDEX_FILE);
        String lost = new ObjectMapper().readTree(index.toFile()).get("weight_map").get("lm_head.weight").asText();
        Files.delete(dir.resolve(lost));
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining(lost).hasMessageContaining("lm_head.weight").hasMessageContaining("missing");

        write(dir, SafetensorsWriter.DEFAULT_SHARD_BYTES);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertThatThrownBy(() -> ckpt.tensor("model.layers.9.mlp.weight"))
                    .isInstanceOf(ModelFileException.class).hasMessageContaining("model.layers.9.mlp.weight");
        }
        // a truncated single file in a directory
        try (FileChannel ch = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("lm_head.weight");
    }
}
