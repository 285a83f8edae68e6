package dev.mixtral.cli;

import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model used when none is given: a synthetic Mixtral (preset small, Q8_0, seed 42) written once to
 * {@code <repository>/models/} (or {@code $MIXTRAL_HOME/models}) and loaded like any real file.
 */
final class BuiltinModel {
    static final String PRESET = "small";
    static final GgmlType TYPE = GgmlType.Q8_0;
    static final long SEED = 42;

    private BuiltinModel() {}

    static Path path() {
        String home = System.getenv("MIXTRAL_HOME");
        if (home == null || home.isBlank()) home = System.getProperty("mixtral.home", ".");
        return Path.of(home, "models", "builtin-" + PRESET + "-" + TYPE.name().toLowerCase() + "-seed" + SEED + ".gguf");
    }

    /** The built-in model's path, writing it first if it is not there yet. */
    static synchronized Path ensure() {
        Path target = path();
        if (Files.exists(target)) return target;
        try {
            Files.createDirectories(target.getParent());
            // Write beside the target and move into place, so an interrupted write never leaves a half file.
            Path partial = target.resolveSibling(target.getFileName() + ".partial");
            System.err.println("mixtral: writing the built-in synthetic model to " + target + " (once)");
            SyntheticModel.writeGguf(SynthSpec.preset(PRESET), TYPE, SEED, partial, false);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the built-in model to " + target, e);
        }
    }
}
