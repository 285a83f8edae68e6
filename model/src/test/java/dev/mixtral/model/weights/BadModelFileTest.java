package dev.mixtral.model.weights;

import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Broken files get an error that names the file, the tensor and the problem. */
class BadModelFileTest {
    static final Path GOOD = TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf");

    @TempDir Path dir;

    private Path variant(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found: " + new String(needle, StandardCharsets.UTF_8));
    }

    /** Offset of the ggml type field in a tensor's directory entry. */
    private static int typeFieldOf(byte[] file, String tensor) {
        int at = indexOf(file, tensor.getBytes(StandardCharsets.UTF_8)) + tensor.length();
        int dims = file[at];
        return at + 4 + 8 * dims;
    }

    @Test
    void truncatedFileNamesTheFirstTensorCutOff() throws IOException {
        byte[] all = Files.readAllBytes(GOOD);
        Path p = variant("cut.gguf", Arrays.copyOf(all, all.length / 2));
        assertThatThrownBy(() -> ModelFiles.open(p))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContaining("truncated")
                .hasMessageMatching("(?s).*tensor \\S+ needs bytes up to \\d+ but the file has only " + all.length / 2 + ".*");
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] all = Files.readAllBytes(GOOD);
        Path p = variant("header.gguf", Arrays.copyOf(all, 4000));
        assertThatThrownBy(() -> ModelFiles.open(p))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContaining("truncated or corrupt");
    }

    @Test
    void wrongMagic() throws IOException {
        byte[] all = Files.readAllBytes(GOOD);
        all[3] = 'X';
        Path p = variant("magic.gguf", all);
        assertThatThrownBy(() -> ModelFiles.open(p))
                .isInstanceOf(ModelFileException.class)
                .hasMessage(p + ": not a GGUF file (magic bytes 'GGUX', expected 'GGUF')");
    }

    @Test
    void unknownTensorTypeIsReportedWhenTheTensorIsLoaded() throws IOException {
        byte[] all = Files.readAllBytes(GOOD);
        int typeAt = typeFieldOf(all, "blk.1.attn_v.weight");
        assertThat(all[typeAt]).isEqualTo((byte) 8); // Q8_0
        all[typeAt] = 99;
        Path p = variant("type.gguf", all);
        try (ModelFiles files = ModelFiles.open(p)) {
            assertThat(files.tensors()).anyMatch(t -> t.name().equals("blk.1.attn_v.weight") && t.type().equals("unsupported type 99"));
            assertThatThrownBy(files::loadDense)
                    .isInstanceOf(ModelFileException.class)
                    .hasMessageContaining(p.toString())
                    .hasMessageContaining("tensor blk.1.attn_v.weight has ggml type 99, which this build does not read");
        }
    }

    @Test
    void missingTensor() throws IOException {
        byte[] all = Files.readAllBytes(GOOD);
        int at = indexOf(all, "blk.1.attn_q.weight".getBytes(StandardCharsets.UTF_8));
        all[at + "blk.1.attn_".length()] = 'x'; // now "blk.1.attn_x.weight"
        Path p = variant("missing.gguf", all);
        try (ModelFiles files = ModelFiles.open(p)) {
            assertThatThrownBy(files::loadDense)
                    .isInstanceOf(ModelFileException.class)
                    .hasMessage(p + ": missing tensor blk.1.attn_q.weight");
        }
    }

    @Test
    void missingFileAndEmptyFile() throws IOException {
        Path none = dir.resolve("none.gguf");
        assertThatThrownBy(() -> ModelFiles.open(none)).isInstanceOf(ModelFileException.class)
                .hasMessage(none + ": no such file or directory");
        Path empty = variant("empty.gguf", new byte[0]);
        assertThatThrownBy(() -> ModelFiles.open(empty)).isInstanceOf(ModelFileException.class)
                .hasMessage(empty + ": only 0 bytes: too short to be a GGUF file");
    }

    @Test
    void denseLlamaIsRefused() throws IOException {
        byte[] all = Files.readAllBytes(GOOD);
        int at = indexOf(all, "llama.expert_count".getBytes(StandardCharsets.UTF_8)) + "llama.expert_count".length();
        all[at + 4] = 0; // u32 value 8 -> 0
        Path p = variant("dense.gguf", all);
        assertThatThrownBy(() -> ModelFiles.open(p)).isInstanceOf(ModelFileException.class)
                .hasMessageContaining("not a Mixtral mixture of experts");
    }
}
