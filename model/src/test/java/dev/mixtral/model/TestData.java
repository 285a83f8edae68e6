package dev.mixtral.model;

import dev.mixtral.model.safetensors.SafetensorsFile;
import dev.mixtral.model.safetensors.SafetensorsWriter;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * The test fixtures carried in the repository's {@code testdata/}: the tiny golden models (GGUF F32, Q8_0,
 * Q4_0 as llama.cpp wrote them, and a bf16 Hugging Face checkpoint), their golden outputs, and the
 * 32000-token vocabulary with its test vectors. See {@code testdata/README.md}.
 *
 * <p>The f32 Hugging Face checkpoint holds the same numbers as the bf16 one (every value is
 * bf16-representable), so it is derived from it instead of being carried twice.
 */
public final class TestData {
    private TestData() {}

    /** The repository's {@code testdata/}: from {@code -Dmixtral.testdata}, else found above the working directory. */
    public static Path dir() {
        String prop = System.getProperty("mixtral.testdata");
        if (prop != null && Files.isDirectory(Path.of(prop, "golden"))) return Path.of(prop).toAbsolutePath().normalize();
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata").resolve("golden"))) return p.resolve("testdata");
        }
        throw new IllegalStateException("test fixtures not found: expected testdata/ at the repository root (working directory "
                + Path.of("").toAbsolutePath() + ")");
    }

    public static Path vocab() {
        return dir().resolve("vocab");
    }

    public static Path golden() {
        return dir().resolve("golden");
    }

    /** A tiny golden GGUF file by type: F32, Q8_0 or Q4_0. */
    public static Path tinyGguf(String type) {
        return golden().resolve("tiny").resolve("mixtral-tiny-" + type + ".gguf");
    }

    /** The tiny model as a Hugging Face checkpoint: {@code hf-bf16} as carried, {@code hf-f32} derived from it. */
    public static Path hfCheckpoint(String name) {
        return switch (name) {
            case "hf-bf16" -> golden().resolve("tiny").resolve("hf-bf16");
            case "hf-f32" -> derivedF32Checkpoint();
            default -> throw new IllegalArgumentException("no Hugging Face fixture named " + name);
        };
    }

    /**
     * The reference data of the project's steering repository ({@code ../shared} beside the checkout), where a
     * machine has it: an optional second source, used only to check that the carried fixtures are its copies.
     */
    public static Optional<Path> shared() {
        String prop = System.getProperty("shared.dir");
        for (Path p : prop != null ? new Path[] {Path.of(prop)} : new Path[] {Path.of("..", "shared"), Path.of("..", "..", "shared")}) {
            if (Files.isDirectory(p.resolve("golden"))) return Optional.of(p.toAbsolutePath().normalize());
        }
        return Optional.empty();
    }

    private static synchronized Path derivedF32Checkpoint() {
        Path out = Path.of("target", "testdata-derived", "hf-f32").toAbsolutePath();
        Path weights = out.resolve("model.safetensors");
        if (Files.exists(weights)) return out;
        try {
            Path tmp = Files.createDirectories(out.getParent()).resolve("hf-f32." + ProcessHandle.current().pid());
            writeF32Copy(hfCheckpoint("hf-bf16").resolve("model.safetensors"), tmp);
            for (String file : new String[] {"config.json", "generation_config.json", "tokenizer_config.json"}) {
                Files.copy(golden().resolve("tiny").resolve("hf-f32").resolve(file), tmp.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
            try {
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.exists(weights)) throw e; // another JVM put its identical copy in place first
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Widens every bf16 tensor to f32 (exact: bf16 is the top half of an f32), same names, order and metadata. */
    private static void writeF32Copy(Path bf16File, Path dir) {
        try (SafetensorsFile in = SafetensorsFile.open(bf16File); SafetensorsWriter out = SafetensorsWriter.create(dir)) {
            in.metadata().forEach((k, v) -> { if (!k.equals("format")) out.metadata(k, v); });
            for (String name : in.names()) {
                SafetensorsFile.Entry e = in.entry(name);
                out.addTensor(name, GgmlType.F32, e.shape());
            }
            out.start();
            for (String name : in.names()) {
                Tensor t = in.tensor(name);
                if (t.type() != GgmlType.BF16) throw new IllegalStateException(name + " is " + t.type() + ", expected BF16");
                MemorySegment src = t.data(), dst = out.data(name);
                for (long i = 0; i < t.elements(); i++) {
                    short bits = src.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i);
                    dst.set(ValueLayout.JAVA_INT_UNALIGNED, 4 * i, (bits & 0xffff) << 16);
                }
            }
            out.finish();
        }
    }
}
