package dev.mixtral.cli;

import dev.mixtral.coordinator.FanOutStats;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static dev.mixtral.cli.ClusterSupport.mib;
import static dev.mixtral.cli.ClusterSupport.residentBytesOf;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node's memory follows its share of the experts: on a synthetic model whose experts are ~86% of the
 * file, each of 4 nodes holding 2 of 8 experts keeps a fraction of what one process keeps resident.
 * Measured as the resident pages of the model file's mappings (/proc/PID/smaps) after scoring the same
 * tokens, which touches every expert of every layer.
 */
class ClusterMemoryIT {
    @Test
    void eachNodeKeepsOnlyItsExpertsResident(@TempDir Path dir) {
        // dim 128, 4 layers, expert hidden 4096, Q8_0: 53 MiB of experts, 9 MiB dense (embeddings, output, attention)
        SynthSpec spec = new SynthSpec(128, 4, 4, 2, 4096, 8, 2, SynthSpec.VOCAB, 512, 1e6, 1e-5);
        Path model = dir.resolve("experts-heavy-q8_0.gguf");
        SyntheticModel.writeGguf(spec, GgmlType.Q8_0, 11, model, false);
        int[] tokens = new Random(5).ints(96, 3, SynthSpec.VOCAB).toArray();
        tokens[0] = 1;

        float[] expected;
        long single;
        try (MixtralModel local = MixtralModel.local(model)) {
            expected = new Generator(local.transformer(), KvCache.Type.F32, 256).score(tokens);
            single = residentBytesOf(ProcessHandle.current().pid(), model);
        }

        try (LocalCluster cluster = ClusterSupport.nodes(model, 4, 1);
             var remote = ClusterSupport.Remote.open(model, cluster, Duration.ofSeconds(60))) {
            Generator g = remote.generator();
            FanOutStats.Snapshot s0 = remote.stats();
            ClusterSupport.assertSameLogits(g.score(tokens), expected, spec.vocab());
            FanOutStats.Snapshot prefill = remote.stats().minus(s0);
            FanOutStats.Snapshot s1 = remote.stats();
            g.generate(new int[]{1, 415, 2936}, 24, dev.mixtral.model.forward.SamplingParams.GREEDY);
            FanOutStats.Snapshot decode = remote.stats().minus(s1);

            long coordinator = residentBytesOf(ProcessHandle.current().pid(), model);
            System.out.printf("[cluster figures] resident model memory (%s file): one process %s; coordinator (dense only) %s (%.0f%%)%n",
                    mib(model.toFile().length()), mib(single), mib(coordinator), 100.0 * coordinator / single);
            for (LocalCluster.Node n : cluster.nodes()) {
                long rss = residentBytesOf(n.pid(), model);
                System.out.printf("[cluster figures]   node-%d experts %s: %s (%.0f%% of one process)%n", n.index(), n.experts(), mib(rss), 100.0 * rss / single);
                assertThat(rss).as("node-%d resident model bytes", n.index()).isPositive().isLessThan(single / 2);
            }
            assertThat(coordinator).isLessThan(single / 2);
            System.out.printf("[cluster figures] dim 128, 4 nodes: prefill of %d tokens %.2f ms per layer call (%.2f ms outside the nodes' compute), %.0f bytes/token;"
                            + " decode %.3f ms per layer call (%.3f ms outside compute), %.0f bytes/token (%d layers)%n",
                    tokens.length, prefill.wallMsPerLayer(), prefill.overheadMsPerLayer(), (double) (prefill.bytesSent() + prefill.bytesReceived()) / tokens.length,
                    decode.wallMsPerLayer(), decode.overheadMsPerLayer(), (double) (decode.bytesSent() + decode.bytesReceived()) / (3 + 23), spec.layers());
        }
    }
}
