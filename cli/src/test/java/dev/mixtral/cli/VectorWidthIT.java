package dev.mixtral.cli;

import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.kernel.VectorWidth;
import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.node.ExpertRanges;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The kernels' vector width changes no bit: JVM processes whose JIT compiles 128-bit or 256-bit vectors
 * ({@code -XX:MaxVectorSize=16/32}), or that force 128 or 512 bits ({@code -Dmixtral.vectorBits}, 512 where the JIT
 * has it: Q8_0's row-pair kernels), give the greedy tokens and logits of this process (the default width: 256 bits
 * on x86-64) on models of every kernel; and a cluster whose two expert nodes run 128 and 256 bits gives the tokens
 * and logits of one process. The bitwise rule of each kernel at 128 bits and at the JIT's widest is
 * {@code MatMulTest}'s, run again at those widths.
 */
class VectorWidthIT {
    /** dim 256 so the K-quants have whole super-blocks; 2 layers so the Q4_K_M mix has both Q4_K and Q6_K down-projections. */
    static final SynthSpec SPEC = new SynthSpec(256, 2, 4, 2, 256, 8, 2, SynthSpec.VOCAB, 256, 1e6, 1e-5);
    /** Q4_K writes llama-quantize's Q4_K_M mix: Q4_K, Q5_K, Q6_K and Q8_0 matrices; norms and routers are F32 in all. */
    static final List<GgmlType> TYPES = List.of(GgmlType.Q4_K, GgmlType.Q4_0, GgmlType.F16);
    static final Duration PROCESS_TIMEOUT = Duration.ofMinutes(5);
    /** Joining a Pekko cluster took over 90 s on the shared 2-core machines under load. */
    static final Duration JOIN_WAIT = Duration.ofMinutes(3);

    @TempDir
    static Path dir;
    static final List<Path> models = new ArrayList<>();
    static final List<WidthProbe.Answer> expected = new ArrayList<>();

    @BeforeAll
    static void modelsAndThisProcessesAnswers() {
        for (GgmlType t : TYPES) {
            Path p = dir.resolve("width-" + t + ".gguf");
            SyntheticModel.writeGguf(SPEC, t, 7, p, false);
            models.add(p);
            expected.add(WidthProbe.answer(p));
        }
    }

    @Test
    void everyWidthGivesTheSameTokensAndLogits() throws Exception {
        // JVM flags → the width the kernels must report running at
        Map<List<String>, Integer> runs = new java.util.HashMap<>(Map.of(
                List.of("-XX:MaxVectorSize=16"), 128,
                List.of("-XX:MaxVectorSize=32"), 256,
                List.of("-D" + VectorWidth.PROPERTY + "=128"), 128));
        if (VectorWidth.PREFERRED_BITS >= 512) { // Q8_0's row pairs: they must agree as well
            runs.put(List.of("-D" + VectorWidth.PROPERTY + "=512", "-XX:MaxVectorSize=64"), 512);
        }
        List<Process> started = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        List<List<String>> flags = new ArrayList<>(runs.keySet());
        try {
            for (List<String> f : flags) {
                Path out = dir.resolve("answer-" + started.size() + ".bin");
                List<String> cmd = new ArrayList<>(List.of(java()));
                cmd.addAll(LocalCluster.JVM_FLAGS);
                cmd.addAll(f);
                cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), WidthProbe.class.getName(), out.toString()));
                models.forEach(m -> cmd.add(m.toString()));
                started.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT).start());
                outs.add(out);
            }
            for (int i = 0; i < flags.size(); i++) {
                Process p = started.get(i);
                assertThat(p.waitFor(PROCESS_TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("%s finished in time", flags.get(i)).isTrue();
                assertThat(p.exitValue()).as("%s exit code", flags.get(i)).isZero();
                WidthProbe.Report r = WidthProbe.read(outs.get(i));
                System.out.printf("[width] %s: kernels at %d bits, JIT's widest %d%n", flags.get(i), r.bits(), r.preferredBits());
                assertThat(r.bits()).as("%s: the kernels' width", flags.get(i)).isEqualTo(runs.get(flags.get(i)));
                for (int m = 0; m < TYPES.size(); m++) {
                    assertSame(r.answers().get(m), expected.get(m), flags.get(i) + " " + TYPES.get(m));
                }
            }
        } finally {
            for (Process p : started) p.destroyForcibly();
        }
    }

    @Test
    void aClusterOfNodesAtDifferentWidthsGivesTheSameTokensAndLogits() {
        Path model = models.get(0); // the Q4_K_M mix: every K-quant kernel, Q8_0 and F32
        int seedPort = ClusterSupport.freePort();
        List<SortedSet<Integer>> shares = LocalCluster.split(SPEC.experts(), 2, 1);
        Queue<String> output = new ConcurrentLinkedQueue<>();
        List<Process> nodes = new ArrayList<>();
        try {
            nodes.add(node(model, shares.get(0), List.of("--cluster-port", Integer.toString(seedPort)), "-XX:MaxVectorSize=16", 0, output));
            nodes.add(node(model, shares.get(1), List.of("--seeds", "127.0.0.1:" + seedPort), "-XX:MaxVectorSize=32", 1, output));
            AtomicReference<Coordinator> c = new AtomicReference<>();
            // no connection warm-up: this test compares outputs, not speed
            var settings = new Coordinator.Settings(List.of("127.0.0.1:" + seedPort), "127.0.0.1", 0, Duration.ofSeconds(60), GgmlType.F32, 0);
            try (MixtralModel remote = MixtralModel.openWith(model, files -> {
                c.set(Coordinator.join(settings, files));
                c.get().awaitReady(JOIN_WAIT);
                return c.get(); // the model owns the coordinator: closing it leaves the cluster
            })) {
                await().atMost(JOIN_WAIT).until(() -> c.get().routingTable().nodes().size() == 2);
                assertSame(WidthProbe.answer(remote), expected.get(0), "2 nodes at 128 and 256 bits");
            }
            // each node has logged its width once, when its kernels first ran
            assertThat(output).anyMatch(l -> l.startsWith("[node-0]") && l.contains("kernels run 128-bit"));
            assertThat(output).anyMatch(l -> l.startsWith("[node-1]") && l.contains("kernels run 256-bit"));
        } finally {
            for (Process p : nodes) p.destroyForcibly();
        }
    }

    private static Process node(Path model, SortedSet<Integer> experts, List<String> args, String jvmFlag, int index, Queue<String> output) {
        List<String> nodeArgs = new ArrayList<>(args);
        nodeArgs.addAll(List.of("--threads", "1"));
        ProcessBuilder pb = LocalCluster.nodeProcess(model, ExpertRanges.format(experts), "127.0.0.1", nodeArgs);
        pb.command().add(1, jvmFlag);
        try {
            Process p = pb.start();
            Thread pump = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        output.add("[node-" + index + "] " + line);
                        System.out.println("[node-" + index + "] " + line);
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            }, "node-" + index + "-output");
            pump.setDaemon(true);
            pump.start();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node-" + index + ": " + e.getMessage(), e);
        }
    }

    private static void assertSame(WidthProbe.Answer actual, WidthProbe.Answer expected, String what) {
        assertThat(actual.tokens()).as("%s: greedy tokens", what).containsExactly(expected.tokens());
        ClusterSupport.assertSameLogits(actual.logits(), expected.logits(), SPEC.vocab());
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
