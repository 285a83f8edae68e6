package dev.mixtral.model;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The carried fixtures are exact copies of the reference data, and the derived f32 checkpoint is the reference's. */
class TestDataTest {

    @Test
    void carriedFixturesAreByteForByteCopiesOfTheReferenceData() throws IOException {
        Path shared = TestData.shared().orElse(null);
        assumeTrue(shared != null, "no ../shared on this machine: nothing to compare the fixtures with");
        List<Path> carried;
        try (Stream<Path> files = Files.walk(TestData.dir())) {
            carried = files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("README.md")).toList();
        }
        assertThat(carried).hasSizeGreaterThanOrEqualTo(14);
        for (Path p : carried) {
            Path reference = shared.resolve(TestData.dir().relativize(p).toString());
            assertThat(Files.mismatch(p, reference)).as(p.toString()).isEqualTo(-1L);
        }
    }

    @Test
    void derivedF32CheckpointEqualsTheReferenceFile() throws IOException {
        Path derived = TestData.hfCheckpoint("hf-f32").resolve("model.safetensors");
        Path shared = TestData.shared().orElse(null);
        assumeTrue(shared != null, "no ../shared on this machine: the derived file is checked against the GGUF by SynthGgufTest");
        assertThat(Files.mismatch(derived, shared.resolve("golden/tiny/hf-f32/model.safetensors"))).isEqualTo(-1L);
    }
}
