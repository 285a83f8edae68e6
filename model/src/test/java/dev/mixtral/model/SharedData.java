package dev.mixtral.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the steering repository's reference data ({@code ../shared} beside the checkout). */
public final class SharedData {
    private SharedData() {}

    public static Path dir() {
        String prop = System.getProperty("shared.dir");
        Path p = prop != null ? Path.of(prop) : Path.of("..", "shared");
        if (!Files.isDirectory(p)) p = Path.of("..", "..", "shared");
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("reference data not found: expected ../shared beside the checkout (got " + p.toAbsolutePath() + ")");
        }
        return p.toAbsolutePath().normalize();
    }

    public static Path vocab() {
        return dir().resolve("vocab");
    }

    public static Path golden() {
        return dir().resolve("golden");
    }
}
