package dev.mixtral.cli;

import dev.mixtral.model.weights.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** synth --hot-experts: an ordinary GGUF that says which experts were made hot, and clear errors. */
class SynthHotExpertsTest {
    @TempDir
    Path dir;

    @Test
    void writesAnOrdinaryModelFileWithItsOwnFingerprint() {
        Path plain = dir.resolve("plain.gguf"), hot = dir.resolve("hot.gguf");
        assertThat(CliTest.run("synth", "--preset", "tiny", "--out", plain.toString()).exit()).isZero();
        CliTest.Result r = CliTest.run("synth", "--preset", "tiny", "--hot-experts", "0,1", "--hot-scale", "4", "--out", hot.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        try (ModelFiles p = ModelFiles.open(plain); ModelFiles h = ModelFiles.open(hot)) {
            assertThat(h.config()).isEqualTo(p.config());
            assertThat(h.metadata()).containsEntry("synth.hot_router_scale", "4").containsKey("synth.hot_experts");
            assertThat(h.fingerprint()).isNotEqualTo(p.fingerprint());
        }
    }

    @Test
    void refusesExpertsThatDoNotExistAndInexactScales() {
        CliTest.Result r = CliTest.run("synth", "--preset", "tiny", "--hot-experts", "9", "--out", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--hot-experts: hot expert 9 does not exist: the model has experts 0..7");
        r = CliTest.run("synth", "--preset", "tiny", "--hot-experts", "0", "--hot-scale", "3", "--out", dir.resolve("y.gguf").toString());
        assertThat(r.err()).contains("power of two");
        r = CliTest.run("synth", "--format", "safetensors", "--hot-experts", "0", "--out", dir.resolve("z").toString());
        assertThat(r.err()).contains("--hot-experts is for GGUF files");
    }
}
