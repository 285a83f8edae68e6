package dev.mixtral.model.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.tokenizer.Tokenizer;
import dev.mixtral.model.tokenizer.TokenizerJson;
import dev.mixtral.model.tokenizer.Vocabulary;

import java.nio.file.Path;

/** {@code tokenizer.json} on arbitrary bytes: a {@link ModelFileException}, or a vocabulary that tokenizes text. */
class TokenizerJsonFuzzTest {
    @FuzzTest(maxDuration = "3s")
    void tokenizerJson(byte[] data) {
        Path dir = FuzzFiles.newDir();
        try {
            Vocabulary vocab = TokenizerJson.read(FuzzFiles.write(dir, "tokenizer.json", data));
            Tokenizer tokenizer = new Tokenizer(vocab);
            tokenizer.decode(tokenizer.encode("Hello wörld \ud83d\ude00 <s>", true));
        } catch (ModelFileException expected) {
            // refused with a message naming the file
        } finally {
            FuzzFiles.delete(dir);
        }
    }
}
