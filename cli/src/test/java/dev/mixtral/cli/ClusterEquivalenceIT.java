package dev.mixtral.cli;

import dev.mixtral.coordinator.FanOutStats;
import dev.mixtral.model.Golden;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.mixtral.cli.ClusterSupport.Q8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Expert nodes as separate JVMs give exactly what one process gives: the same greedy tokens and the
 * same logits, bit for bit (f32 on the wire, the same expert code on the nodes, the weighted sum in a
 * fixed order on the coordinator). Prints the fan-out's cost.
 */
class ClusterEquivalenceIT {
    static final int TOKENS = 48;

    record Expected(int[] prompt, int[] tokens, float[] logits) {}

    static final List<Expected> expected = new ArrayList<>();

    @BeforeAll
    static void oneProcess() {
        try (MixtralModel local = MixtralModel.local(Q8)) {
            Generator g = new Generator(local.transformer(), KvCache.Type.F32, 256);
            for (Golden.Case c : Golden.load("Q8_0").cases()) {
                int[] tokens = g.generate(c.promptIds(), TOKENS, SamplingParams.GREEDY);
                expected.add(new Expected(c.promptIds(), tokens, g.score(ClusterSupport.concat(c.promptIds(), tokens))));
            }
        }
    }

    @Test
    void twoNodes() {
        sameAsOneProcess(2);
    }

    @Test
    void fourNodes() {
        sameAsOneProcess(4);
    }

    @Test
    void fourNodesWithTwoReplicasOfEachExpert() {
        sameAsOneProcess(4, 2);
    }

    static void sameAsOneProcess(int nodes) {
        sameAsOneProcess(nodes, 1);
    }

    static void sameAsOneProcess(int nodes, int replicas) {
        try (LocalCluster cluster = ClusterSupport.nodes(Q8, nodes, replicas);
             var remote = ClusterSupport.Remote.open(Q8, cluster, Duration.ofSeconds(30))) {
            // with replicas, coverage can be complete before every node has joined: wait for all
            await().atMost(ClusterSupport.WAIT).until(() -> remote.coordinator().routingTable().nodes().size() == nodes);
            Generator g = remote.generator();
            // warm-up (class loading, JIT, connections) kept out of the figures
            g.generate(expected.get(0).prompt(), 4, SamplingParams.GREEDY);

            FanOutStats.Snapshot s0 = remote.stats();
            int decodeTokens = 0;
            for (Expected e : expected) {
                assertThat(g.generate(e.prompt(), TOKENS, SamplingParams.GREEDY)).containsExactly(e.tokens());
                decodeTokens += e.prompt().length + TOKENS - 1;
            }
            FanOutStats.Snapshot generate = remote.stats().minus(s0);

            FanOutStats.Snapshot s1 = remote.stats();
            int scoredTokens = 0;
            for (Expected e : expected) {
                int[] all = ClusterSupport.concat(e.prompt(), e.tokens());
                ClusterSupport.assertSameLogits(g.score(all), e.logits(), remote.model().config().vocab());
                scoredTokens += all.length;
            }
            FanOutStats.Snapshot score = remote.stats().minus(s1);

            System.out.printf("[cluster figures] tiny Q8_0 (dim 64), %d nodes × replicas %d: identical tokens (%d × 3 prompts) and logits."
                            + " Greedy generation: %.3f ms per layer call wall, %.3f ms of it outside the nodes' compute, %.1f node calls per layer;"
                            + " bytes on the wire per token per layer: %.0f (%.0f per token over %d layers)%n",
                    nodes, replicas, TOKENS, generate.wallMsPerLayer(), generate.overheadMsPerLayer(),
                    (double) generate.nodeCalls() / generate.layerCalls(),
                    (double) (generate.bytesSent() + generate.bytesReceived()) / decodeTokens / remote.model().config().layers(),
                    (double) (generate.bytesSent() + generate.bytesReceived()) / decodeTokens, remote.model().config().layers());
            System.out.printf("[cluster figures] scoring %d tokens: %.3f ms per layer call, %.0f bytes per token%n",
                    scoredTokens, score.wallMsPerLayer(), (double) (score.bytesSent() + score.bytesReceived()) / scoredTokens);
        }
    }
}
