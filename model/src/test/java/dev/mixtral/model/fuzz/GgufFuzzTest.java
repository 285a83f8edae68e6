package dev.mixtral.model.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.gguf.GgufValue;
import dev.mixtral.model.tokenizer.Vocabulary;

import java.nio.file.Path;

/**
 * The GGUF reader on arbitrary bytes: a {@link ModelFileException} naming the problem, or a file whose
 * header, tensor directory and vocabulary can all be read. Anything else thrown is a finding.
 */
class GgufFuzzTest {
    @FuzzTest(maxDuration = "3s")
    @DictionaryEntries({"general.alignment", "tokenizer.ggml.model", "llama", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
            "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
            "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_space_prefix"})
    void gguf(byte[] data) {
        Path dir = FuzzFiles.newDir();
        try (GgufFile gguf = GgufFile.open(FuzzFiles.write(dir, "fuzz.gguf", data))) {
            for (GgufValue v : gguf.metadata().values()) v.toString();
            for (GgufFile.TensorInfo t : gguf.tensorInfos()) {
                if (t.type() != null) gguf.peek(t.name(), (int) Math.min(16, t.byteSize()));
            }
            if (gguf.has("tokenizer.ggml.model")) Vocabulary.fromGguf(gguf);
        } catch (ModelFileException expected) {
            // refused with a message naming the file: what a bad file must get
        } finally {
            FuzzFiles.delete(dir);
        }
    }
}
