package dev.mixtral.model.forward;

import dev.mixtral.model.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A run in a fresh JVM (nothing compiled yet), a run in a JVM without the C2 compiler (so the Vector API runs
 * its Java fallback, no intrinsics) and JIT-compiled runs in this JVM give the same bits.
 */
class WarmupDeterminismTest {
    static final int[] TOKENS = {1, 518, 25580, 29962, 12027, 7420};

    static Path model() {
        return TestData.tinyGguf("F32");
    }

    @Test
    void aFreshJvmAJvmWithoutC2AndWarmRunsAgreeBitForBit(@TempDir Path dir) throws Exception {
        float[] fresh = scoreInNewJvm(dir.resolve("fresh.bin"));
        float[] c1Only = scoreInNewJvm(dir.resolve("c1.bin"), "-XX:TieredStopAtLevel=1");
        Transformer t = GoldenOutputTest.load(model());
        for (int i = 0; i < 40; i++) {
            float[] warm = new Generator(t, KvCache.Type.F32, 4).score(TOKENS);
            assertThat(firstDifference(fresh, warm)).as("first logit of warm run %d that differs from the fresh JVM's", i).isEqualTo(-1);
        }
        assertThat(firstDifference(fresh, c1Only)).as("first logit that the Vector API's Java fallback computes differently").isEqualTo(-1);
    }

    private static float[] scoreInNewJvm(Path out, String... jvmFlags) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ColdScore.class.getName(), model().toString(), out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile()).start();
        try {
            assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(p.exitValue()).as(Files.readString(out.resolveSibling(out.getFileName() + ".log"))).isZero();
        try (DataInputStream in = new DataInputStream(Files.newInputStream(out))) {
            float[] r = new float[in.readInt()];
            for (int i = 0; i < r.length; i++) r[i] = in.readFloat();
            return r;
        }
    }

    /** Scores {@link #TOKENS} once in its own JVM and writes the logits: the first run of the code in that JVM. */
    public static final class ColdScore {
        public static void main(String[] args) throws IOException {
            float[] logits = new Generator(GoldenOutputTest.load(Path.of(args[0])), KvCache.Type.F32, 4).score(TOKENS);
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(Path.of(args[1])))) {
                out.writeInt(logits.length);
                for (float v : logits) out.writeFloat(v);
            }
        }
    }

    /** Index of the first element that differs in bits, or -1 (AssertJ's array diff is too slow for 10^5 elements). */
    static int firstDifference(float[] a, float[] b) {
        if (a.length != b.length) return Math.min(a.length, b.length);
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i])) return i;
        }
        return -1;
    }
}
