package dev.mixtral.cli;

import dev.mixtral.coordinator.RemoteNode;
import dev.mixtral.model.Golden;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.generate.TokenSink;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static dev.mixtral.cli.ClusterSupport.Q8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Chaos under load: concurrent seeded streams through the batching engine while one node is killed,
 * another stalled (SIGSTOP) and the killed one restarted. No request may fail and every output must be
 * the one a single process computes for its seed. Prints requests, tokens, failovers, hedges and the
 * per-token latency the chaos added (figures, not assertions).
 */
class ClusterChaosIT {
    static final int STREAMS = 6;
    static final int TOKENS = 24;
    static final int SEEDS = 6;
    static final int KILLED = 1;
    static final int STALLED = 3; // shares no block of experts with node 1 (split(8, 4, 2)): every expert keeps a live holder

    @Test
    void concurrentStreamsSurviveAKillAStallAndARestartWithIdenticalOutputs() throws Exception {
        int[] prompt = Golden.load("Q8_0").cases().get(0).promptIds();
        List<int[]> reference = new ArrayList<>();
        try (MixtralModel local = MixtralModel.local(Q8)) {
            Generator g = new Generator(local.transformer(), KvCache.Type.F32, 256);
            for (int s = 0; s < SEEDS; s++) reference.add(g.generate(prompt, TOKENS, sampling(s)));
        }
        ExecutorService clients = Executors.newFixedThreadPool(STREAMS);
        try (LocalCluster cluster = ClusterSupport.nodes(Q8, 4, 2);
             var remote = ClusterSupport.Remote.openCold(Q8, cluster, Duration.ofSeconds(10));
             InferenceEngine engine = new InferenceEngine(remote.model().transformer(), new EngineConfig(16, 64, 64L << 20, 256, KvCache.Type.F32))) {
            await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                    .until(() -> remote.coordinator().routingTable().nodes().size() == 4);
            Load load = new Load(engine, prompt, reference);
            // undisturbed: the latency baseline
            List<CompletableFuture<Void>> streams = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) streams.add(CompletableFuture.runAsync(load::loop, clients));
            await().atMost(ClusterSupport.WAIT).until(() -> load.requests.get() >= STREAMS);
            List<Long> baseline = load.drainLatencies();
            long failoversBefore = remote.coordinator().experts().stats().failovers();

            cluster.kill(KILLED);
            System.out.println("[chaos] node-" + KILLED + " killed");
            await().atMost(Duration.ofSeconds(60)).until(() -> load.requests.get() >= 2 * STREAMS);
            signal(cluster.node(STALLED).pid(), "STOP");
            System.out.println("[chaos] node-" + STALLED + " stalled (SIGSTOP)");
            try {
                Thread.sleep(3000);
            } finally {
                signal(cluster.node(STALLED).pid(), "CONT");
            }
            System.out.println("[chaos] node-" + STALLED + " resumed (SIGCONT)");
            cluster.start(KILLED);
            System.out.println("[chaos] node-" + KILLED + " restarted");
            await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(200))
                    .until(() -> remote.coordinator().routingTable().nodes().size() == 4);
            long served = load.requests.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> load.requests.get() >= served + STREAMS);
            load.stop.set(true);
            CompletableFuture.allOf(streams.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            List<Long> chaos = load.drainLatencies();

            var stats = remote.coordinator().experts().stats();
            System.out.printf("[chaos figures] requests %d, tokens %d, failed %d, wrong %d; failovers %d, hedged expert calls %d (replica first %d),"
                            + " nodes suspected on a failed call %d; per-token latency undisturbed p50 %.1f ms p99 %.1f ms, under chaos p50 %.1f ms"
                            + " p99 %.1f ms (added p50 %.1f ms, p99 %.1f ms)%n",
                    load.requests.get(), load.tokens.get(), load.failed.size(), load.wrong.get(), stats.failovers() - failoversBefore,
                    stats.hedges(), stats.hedgeWins(), remote.coordinator().suspicions(),
                    ms(pct(baseline, 0.5)), ms(pct(baseline, 0.99)), ms(pct(chaos, 0.5)), ms(pct(chaos, 0.99)),
                    ms(pct(chaos, 0.5) - pct(baseline, 0.5)), ms(pct(chaos, 0.99) - pct(baseline, 0.99)));
            assertThat(load.failed).as("failed requests").isEmpty();
            assertThat(load.wrong.get()).as("outputs differing from the single-process run of their seed").isZero();
            assertThat(load.requests.get()).isGreaterThanOrEqualTo(3L * STREAMS);
            // both troubled nodes serve again: the restarted one under a new identity, the stalled one resumed
            assertThat(remote.coordinator().routingTable().nodes()).extracting(RemoteNode::experts)
                    .contains(cluster.node(KILLED).experts(), cluster.node(STALLED).experts());
        } finally {
            clients.shutdownNow();
        }
    }

    static SamplingParams sampling(int seed) {
        return new SamplingParams(0.9f, 40, 0.95f, 1000 + seed);
    }

    /** Clients that submit seeded requests one after another until stopped, checking each output. */
    static final class Load {
        final InferenceEngine engine;
        final int[] prompt;
        final List<int[]> reference;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong requests = new AtomicLong();
        final AtomicLong tokens = new AtomicLong();
        final AtomicLong wrong = new AtomicLong();
        final ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        final AtomicLong next = new AtomicLong();

        Load(InferenceEngine engine, int[] prompt, List<int[]> reference) {
            this.engine = engine;
            this.prompt = prompt;
            this.reference = reference;
        }

        void loop() {
            // bounded: at most 1000 requests per client even if the stop never comes
            for (int i = 0; i < 1000 && !stop.get(); i++) one((int) (next.getAndIncrement() % reference.size()));
        }

        void one(int seed) {
            List<Integer> out = Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<FinishReason> done = new CompletableFuture<>();
            long[] last = {System.nanoTime()};
            engine.submit(new GenerationRequest(prompt, TOKENS, sampling(seed), dev.mixtral.model.generate.StopPolicy.NONE), new TokenSink() {
                @Override public boolean onToken(int token) {
                    long now = System.nanoTime();
                    if (!out.isEmpty()) latencies.add(now - last[0]);
                    last[0] = now;
                    out.add(token);
                    return true;
                }
                @Override public void onFinish(FinishReason reason) { done.complete(reason); }
                @Override public void onError(Exception error) { done.completeExceptionally(error); }
            });
            try {
                done.get(120, TimeUnit.SECONDS);
                requests.incrementAndGet();
                tokens.addAndGet(out.size());
                if (!java.util.Arrays.equals(out.stream().mapToInt(Integer::intValue).toArray(), reference.get(seed))) wrong.incrementAndGet();
            } catch (Exception e) {
                failed.add("seed " + seed + ": " + e);
                System.out.println("[chaos] request failed: " + e);
            }
        }

        List<Long> drainLatencies() {
            List<Long> l = new ArrayList<>();
            for (Long x; (x = latencies.poll()) != null; ) l.add(x);
            Collections.sort(l);
            return l;
        }
    }

    static long pct(List<Long> sorted, double p) {
        return sorted.isEmpty() ? 0 : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }

    static void signal(long pid, String signal) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }
}
