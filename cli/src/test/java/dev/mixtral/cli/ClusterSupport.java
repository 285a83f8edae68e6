package dev.mixtral.cli;

import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.coordinator.FanOutStats;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.ResidentMemory;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.tensor.GgmlType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Helpers of the multi-process tests: expert nodes as child JVMs, a coordinator in the test JVM. */
final class ClusterSupport {
    static final Path Q8 = TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf");
    static final Path Q4 = TestData.golden().resolve("tiny/mixtral-tiny-Q4_0.gguf");
    // generous: on a shared 2-core host a node JVM can take a minute to start
    static final Duration WAIT = Duration.ofSeconds(180);

    private ClusterSupport() {}

    static int freePort() {
        return LocalCluster.freePort();
    }

    /** Nodes on loopback whose output goes to the test log, killed when closed (see {@link LocalCluster#killOnClose}). */
    static LocalCluster nodes(Path model, int n, int replicas) {
        return LocalCluster.start(model, 8, n, replicas, "127.0.0.1", freePort(), List.of("--threads", "1"), System.out::println).killOnClose();
    }

    /** A model whose experts are computed by the cluster's nodes; closing it leaves the cluster. */
    record Remote(MixtralModel model, Coordinator coordinator) implements AutoCloseable {
        static Remote open(Path path, LocalCluster cluster, Duration callTimeout) {
            return open(path, cluster.seeds(), callTimeout, dev.mixtral.coordinator.NodeRegistry.DEFAULT_WARMUP_CALLS,
                    dev.mixtral.cluster.tls.ClusterTls.PLAINTEXT);
        }

        static Remote open(Path path, LocalCluster cluster, Duration callTimeout, dev.mixtral.cluster.tls.ClusterTls tls) {
            return open(path, cluster.seeds(), callTimeout, dev.mixtral.coordinator.NodeRegistry.DEFAULT_WARMUP_CALLS, tls);
        }

        /** Without warming each node's connection first: for tests that check behaviour, not speed, on a busy host. */
        static Remote openCold(Path path, LocalCluster cluster, Duration callTimeout) {
            return open(path, cluster.seeds(), callTimeout, 0);
        }

        /** As {@link #openCold(Path, LocalCluster, Duration)}, over {@code tls}. */
        static Remote openCold(Path path, LocalCluster cluster, Duration callTimeout, dev.mixtral.cluster.tls.ClusterTls tls) {
            return open(path, cluster.seeds(), callTimeout, 0, tls);
        }

        /** {@code seeds}: comma-separated; {@code warmUpCalls}: empty calls per node before it is routed to (few over a slow emulated link). */
        static Remote open(Path path, String seeds, Duration callTimeout, int warmUpCalls) {
            return open(path, seeds, callTimeout, warmUpCalls, dev.mixtral.cluster.tls.ClusterTls.PLAINTEXT);
        }

        static Remote open(Path path, String seeds, Duration callTimeout, int warmUpCalls, dev.mixtral.cluster.tls.ClusterTls tls) {
            return open(path, new Coordinator.Settings(List.of(seeds.split(",")), "127.0.0.1", 0, callTimeout, GgmlType.F32, warmUpCalls).withTls(tls));
        }

        static Remote open(Path path, Coordinator.Settings settings) {
            AtomicReference<Coordinator> c = new AtomicReference<>();
            MixtralModel m = MixtralModel.openWith(path, files -> {
                c.set(Coordinator.join(settings, files));
                try {
                    c.get().awaitReady(WAIT);
                } catch (RuntimeException e) {
                    c.get().close();
                    throw e;
                }
                return c.get();
            });
            return new Remote(m, c.get());
        }

        Generator generator() {
            return new Generator(model.transformer(), KvCache.Type.F32, 256);
        }

        FanOutStats.Snapshot stats() {
            return coordinator.experts().stats().snapshot();
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /**
     * Resident bytes of {@code file}'s mappings in process {@code pid}: the Rss lines of its entries in
     * /proc/pid/smaps, i.e. the pages of the model this process has actually touched.
     */
    static long residentBytesOf(long pid, Path file) {
        return ResidentMemory.ofFile(pid, file);
    }

    /**
     * Bit-for-bit equality of two logit arrays. (AssertJ's containsExactly diffs element against element,
     * quadratic in the length: minutes for the ~2M logits of a scored sequence, so compare here and
     * report the first difference.)
     */
    static void assertSameLogits(float[] actual, float[] expected, int vocab) {
        org.assertj.core.api.Assertions.assertThat(actual).hasSameSizeAs(expected);
        int i = java.util.Arrays.mismatch(actual, expected);
        org.assertj.core.api.Assertions.assertThat(i)
                .as(() -> "first differing logit: position " + i / vocab + ", token " + i % vocab + ": " + actual[i] + " vs " + expected[i])
                .isEqualTo(-1);
    }

    static int[] concat(int[] a, int[] b) {
        int[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
