package dev.mixtral.server.api;

import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The synthetic tiny model as a GGUF file, written once per test JVM for the tests that only need some model behind the API. */
final class TinyModelFile {
    private static Path path;

    private TinyModelFile() {}

    static synchronized Path path() {
        if (path == null) {
            try {
                Path dir = Files.createTempDirectory("tiny-model");
                Path file = dir.resolve("tiny.gguf");
                SyntheticModel.writeGguf(SynthSpec.preset("tiny"), GgmlType.Q8_0, 7, file, false);
                file.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
                path = file;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return path;
    }
}
