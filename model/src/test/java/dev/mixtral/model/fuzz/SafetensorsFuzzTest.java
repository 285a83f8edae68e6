package dev.mixtral.model.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.safetensors.SafetensorsFile;

import java.nio.file.Path;

/** The safetensors reader on arbitrary bytes: a {@link ModelFileException}, or a readable file. */
class SafetensorsFuzzTest {
    @FuzzTest(maxDuration = "3s")
    void safetensors(byte[] data) {
        Path dir = FuzzFiles.newDir();
        try (SafetensorsFile f = SafetensorsFile.open(FuzzFiles.write(dir, "model.safetensors", data))) {
            f.metadata();
            for (String name : f.names()) f.peek(name, (int) Math.min(16, f.entry(name).byteSize()));
        } catch (ModelFileException expected) {
            // refused with a message naming the file
        } finally {
            FuzzFiles.delete(dir);
        }
    }
}
