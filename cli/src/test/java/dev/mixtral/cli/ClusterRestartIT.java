package dev.mixtral.cli;

import dev.mixtral.coordinator.RemoteNode;
import dev.mixtral.model.Golden;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.mixtral.cli.ClusterSupport.Q8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Crashed nodes restarted with their own command line, the founder of the cluster first: each rejoins
 * the one running cluster (the coordinator, which never restarts, sees it come back) and is used again;
 * then a node asked to stop (SIGTERM) leaves after draining, under a running generation.
 */
class ClusterRestartIT {
    @Test
    void anyNodeTheFounderIncludedRejoinsTheRunningClusterAfterACrashAndASigtermDrains() throws Exception {
        Golden.Case c = Golden.load("Q8_0").cases().get(0);
        int[] reference;
        try (MixtralModel local = MixtralModel.local(Q8)) {
            reference = new Generator(local.transformer(), KvCache.Type.F32, 256).generate(c.promptIds(), 16, SamplingParams.GREEDY);
        }
        try (LocalCluster cluster = ClusterSupport.nodes(Q8, 3, 2);
             var remote = ClusterSupport.Remote.openCold(Q8, cluster, Duration.ofSeconds(10))) {
            await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                    .until(() -> remote.coordinator().routingTable().nodes().size() == 3);
            Generator g = remote.generator();
            // node 0 founded the cluster; node 1 is a seed that did not
            for (int victim : List.of(0, 1)) {
                Set<String> before = ids(remote);
                cluster.kill(victim);
                await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                        .until(() -> remote.coordinator().routingTable().nodes().size() == 2);
                assertThat(g.generate(c.promptIds(), 16, SamplingParams.GREEDY)).as("served by the replicas").containsExactly(reference);

                cluster.start(victim);
                await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                        .until(() -> remote.coordinator().routingTable().nodes().size() == 3);
                Set<String> after = ids(remote);
                Set<String> fresh = after.stream().filter(id -> !before.contains(id)).collect(Collectors.toSet());
                assertThat(fresh).as("node-" + victim + "'s new incarnation is in the coordinator's cluster").hasSize(1);
                RemoteNode back = remote.coordinator().routingTable().nodes().stream().filter(n -> fresh.contains(n.id())).findFirst().orElseThrow();
                assertThat(back.experts()).isEqualTo(cluster.node(victim).experts());
                System.out.println("[restart] node-" + victim + " rejoined the running cluster as " + back);

                long callsBefore = remote.stats().nodeCalls();
                assertThat(g.generate(c.promptIds(), 16, SamplingParams.GREEDY)).containsExactly(reference);
                assertThat(remote.stats().nodeCalls()).isGreaterThan(callsBefore);
                // the restarted node gets its share again: some expert is routed to it
                assertThat(back.experts()).anyMatch(e -> remote.coordinator().routingTable().choose(e).id().equals(back.id()));
            }

            // node 2 asked to stop (SIGTERM, as a rolling update does) while a generation runs: drained, nothing lost
            var running = java.util.concurrent.CompletableFuture.supplyAsync(() -> g.generate(c.promptIds(), 48, SamplingParams.GREEDY));
            long stopAt = System.nanoTime();
            cluster.node(2).process().destroy();
            assertThat(cluster.node(2).process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("node-2 exits after draining").isTrue();
            System.out.printf("[restart] node-2 stopped by SIGTERM in %.0f ms%n", (System.nanoTime() - stopAt) / 1e6);
            int[] reference48;
            try (MixtralModel local = MixtralModel.local(Q8)) {
                reference48 = new Generator(local.transformer(), KvCache.Type.F32, 256).generate(c.promptIds(), 48, SamplingParams.GREEDY);
            }
            assertThat(running.get(120, java.util.concurrent.TimeUnit.SECONDS)).containsExactly(reference48);
            assertThat(cluster.node(2).process().exitValue()).as("ended by its own SIGTERM handling, not killed").isEqualTo(143);
            await().atMost(ClusterSupport.WAIT).until(() -> remote.coordinator().routingTable().nodes().size() == 2);
        }
    }

    private static Set<String> ids(ClusterSupport.Remote remote) {
        return remote.coordinator().routingTable().nodes().stream().map(RemoteNode::id).collect(Collectors.toSet());
    }
}
