package dev.mixtral.cli;

import dev.mixtral.coordinator.ExpertUnavailableException;
import dev.mixtral.coordinator.RemoteNode;
import dev.mixtral.model.Golden;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.mixtral.cli.ClusterSupport.Q4;
import static dev.mixtral.cli.ClusterSupport.Q8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Nodes dying, coming back, and nodes of another model: seen by the coordinator, never a hang. The tests
 * that leave the cluster as they found it share one (each expert on one of two nodes); the one that loses a
 * node for good has its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterFailureIT {
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

    /** Experts 0-3 on node 0, 4-7 on node 1. */
    LocalCluster cluster;
    ClusterSupport.Remote remote;

    @BeforeAll
    void startTheSharedCluster() {
        cluster = ClusterSupport.nodes(Q8, 2, 1);
        remote = ClusterSupport.Remote.openCold(Q8, cluster, CALL_TIMEOUT);
    }

    @AfterAll
    void stopTheSharedCluster() {
        if (remote != null) remote.close();
        if (cluster != null) cluster.close();
    }

    /** Whatever a test before did (one that failed halfway included): both nodes up and routed to. */
    @BeforeEach
    void bothSharedNodesServe() {
        for (LocalCluster.Node n : cluster.nodes()) if (!n.process().isAlive()) cluster.start(n.index());
        await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                .until(() -> remote.coordinator().routingTable().complete() && remote.coordinator().routingTable().nodes().size() == 2);
    }

    @Test
    void killedNodeIsNoticedInFlightGenerationFailsClearlyAndARestartRestoresService() throws Exception {
        Golden.Case c = Golden.load("Q8_0").cases().get(0);
        int[] reference;
        try (MixtralModel local = MixtralModel.local(Q8)) {
            reference = new Generator(local.transformer(), KvCache.Type.F32, 256).generate(c.promptIds(), 32, SamplingParams.GREEDY);
        }
        Generator g = remote.generator();
        assertThat(g.generate(c.promptIds(), 32, SamplingParams.GREEDY)).containsExactly(reference);
        RemoteNode victim = remote.coordinator().routingTable().choose(7);
        assertThat(cluster.node(1).experts()).containsExactly(4, 5, 6, 7);

        // a long generation in flight when node-1 dies: up to the whole context
        AtomicInteger produced = new AtomicInteger();
        int untilFull = remote.model().config().context() - c.promptIds().length;
        CompletableFuture<int[]> running = CompletableFuture.supplyAsync(() ->
                g.generate(new GenerationRequest(c.promptIds(), untilFull, SamplingParams.GREEDY), t -> produced.incrementAndGet()));
        await().atMost(Duration.ofSeconds(30)).until(() -> produced.get() >= 5);
        long killed = System.nanoTime();
        cluster.kill(1);

        assertThatThrownBy(() -> running.get(CALL_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(ExpertUnavailableException.class)
                .satisfies(e -> {
                    ExpertUnavailableException x = (ExpertUnavailableException) e;
                    System.out.println("[cluster figures] in-flight generation failed " + ms(killed) + " after the kill: " + x.getMessage());
                    assertThat(x.layer()).isBetween(0, 1);
                    assertThat(x.experts()).isNotEmpty().isSubsetOf(4, 5, 6, 7);
                    if (x.node() != null) assertThat(x.node()).isEqualTo(victim.address());
                    assertThat(x.getMessage()).contains("layer " + x.layer());
                });
        assertThat(produced.get()).isLessThan(untilFull);

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> remote.coordinator().routingTable().missing(), m -> m.equals(java.util.Set.of(4, 5, 6, 7)));
        System.out.println("[cluster figures] coordinator noticed the dead node " + ms(killed) + " after the kill (failure detector)");
        // now refused before any call: the experts the batch needs, of those the dead node held
        assertThatThrownBy(() -> g.generate(c.promptIds(), 8, SamplingParams.GREEDY))
                .isInstanceOfSatisfying(ExpertUnavailableException.class, e -> {
                    assertThat(e.experts()).isNotEmpty().isSubsetOf(4, 5, 6, 7);
                    assertThat(e.node()).isNull();
                    assertThat(e.getMessage()).startsWith("layer 0: experts " + e.experts() + " are not covered by any live expert node");
                });

        long restarted = System.nanoTime();
        cluster.start(1);
        await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                .until(() -> remote.coordinator().routingTable().complete());
        System.out.println("[cluster figures] restarted node covered again " + ms(restarted) + " after its start (JVM start + join)");
        assertThat(g.generate(c.promptIds(), 32, SamplingParams.GREEDY)).containsExactly(reference);
    }

    @Test
    void aNodeDyingMidGenerationIsReplacedByItsReplicaWithoutChangingTheOutput() throws Exception {
        Golden.Case c = Golden.load("Q8_0").cases().get(1);
        int[] reference;
        try (MixtralModel local = MixtralModel.local(Q8)) {
            reference = new Generator(local.transformer(), KvCache.Type.F32, 256).generate(c.promptIds(), 200, SamplingParams.GREEDY);
        }
        // 3 nodes, each expert on 2 of them: losing any one node loses no expert
        try (LocalCluster replicated = ClusterSupport.nodes(Q8, 3, 2);
             var replicatedRemote = ClusterSupport.Remote.openCold(Q8, replicated, CALL_TIMEOUT)) {
            // ready means every expert covered, which 2 of the 3 nodes already give: wait for the third, so that
            // every expert has its replica before the kill
            await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                    .until(() -> replicatedRemote.coordinator().routingTable().nodes().size() == 3);
            Generator g = replicatedRemote.generator();
            AtomicInteger produced = new AtomicInteger();
            CompletableFuture<int[]> running = CompletableFuture.supplyAsync(() ->
                    g.generate(new GenerationRequest(c.promptIds(), 200, SamplingParams.GREEDY), t -> produced.incrementAndGet()));
            await().atMost(Duration.ofSeconds(60)).until(() -> produced.get() >= 10);
            int atKill = produced.get();
            replicated.kill(1);
            int[] tokens = running.get(120, TimeUnit.SECONDS);
            assertThat(tokens).containsExactly(reference);
            long failovers = replicatedRemote.coordinator().experts().stats().failovers();
            assertThat(failovers).as("expert computations answered by a replica after the kill").isPositive();
            System.out.println("[cluster figures] node-1 killed after " + atKill + " of 200 tokens: generation completed identically; "
                    + failovers + " expert computations answered by a replica");
        }
    }

    @Test
    void aNodeServingAnotherModelIsRefused() throws IOException {
        try {
            Process foreign = LocalCluster.nodeProcess(Q4, "0-7", "127.0.0.1", List.of("--seeds", cluster.seeds()))
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
            try {
                await().atMost(ClusterSupport.WAIT).until(() -> remote.coordinator().refusedNodes(), r -> !r.isEmpty());
                String refusal = remote.coordinator().refusedNodes().iterator().next();
                System.out.println("[cluster] refused: " + refusal);
                assertThat(refusal).contains("fingerprint").contains("a different model file");
                assertThat(remote.coordinator().routingTable().nodes()).hasSize(cluster.nodes().size());
            } finally {
                // asked to leave (it is a member of the shared cluster, only refused by the coordinator), killed if it does not
                foreign.destroy();
                if (!foreign.waitFor(30, TimeUnit.SECONDS)) foreign.destroyForcibly();
                foreign.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String ms(long since) {
        return String.format("%.0f ms", (System.nanoTime() - since) / 1e6);
    }
}
