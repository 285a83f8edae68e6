package dev.mixtral.server.engine;

import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.model.generate.StopPolicy;
import dev.mixtral.model.generate.CollectedTokens;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.generate.TokenSink;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.model.forward.Transformer;
import dev.mixtral.model.weights.ModelFiles;
import dev.mixtral.model.forward.LocalExperts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class InferenceEngineTest {
    static ModelFiles files;
    static Transformer transformer;

    @BeforeAll
    static void load() {
        files = ModelFiles.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"));
        transformer = new Transformer(files.config(), files.loadDense(), LocalExperts.loadAll(files));
    }

    @AfterAll
    static void close() {
        files.close();
    }

    /** Collects a sequence's tokens and how it ended. */
    static class Collector implements TokenSink {
        final List<Integer> tokens = new ArrayList<>();
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();

        @Override public synchronized boolean onToken(int token) { tokens.add(token); return true; }
        @Override public void onFinish(FinishReason reason) { done.complete(reason); }
        @Override public void onError(Exception error) { done.completeExceptionally(error); }

        synchronized int[] ids() { return tokens.stream().mapToInt(Integer::intValue).toArray(); }

        FinishReason await() throws Exception { return done.get(60, TimeUnit.SECONDS); }
    }

    static int[] prompt(int n, int salt) {
        int[] p = new int[n];
        p[0] = 1;
        for (int i = 1; i < n; i++) p[i] = 100 + (i * 7919 + salt * 104729) % 31000;
        return p;
    }

    @Test
    void concurrentRequestsEachGetWhatTheyGetAlone() throws Exception {
        int n = 8;
        GenerationRequest[] requests = new GenerationRequest[n];
        for (int i = 0; i < n; i++) {
            requests[i] = new GenerationRequest(prompt(3 + 5 * i, i), 12 + i, new SamplingParams(0.9f, 40, 0.95f, 1000 + i));
        }
        int[][] alone = new int[n][];
        try (InferenceEngine solo = new InferenceEngine(transformer, new EngineConfig(1, 16, 1L << 30, 512, KvCache.Type.F32))) {
            for (int i = 0; i < n; i++) {
                Collector c = new Collector();
                solo.submit(requests[i], c);
                assertThat(c.await()).isEqualTo(FinishReason.LENGTH);
                alone[i] = c.ids();
            }
        }
        try (InferenceEngine engine = new InferenceEngine(transformer, new EngineConfig(8, 16, 1L << 30, 7, KvCache.Type.F32))) {
            Collector[] together = new Collector[n];
            for (int i = 0; i < n; i++) engine.submit(requests[i], together[i] = new Collector());
            for (int i = 0; i < n; i++) {
                assertThat(together[i].await()).isEqualTo(FinishReason.LENGTH);
                assertThat(together[i].ids()).as("request %d", i).hasSize(12 + i).containsExactly(alone[i]);
            }
            assertThat(engine.stats().kvReservedBytes()).isZero();
        }
        // and greedy through the engine equals the plain generator
        Collector greedy = new Collector();
        try (InferenceEngine engine = new InferenceEngine(transformer, EngineConfig.defaults())) {
            engine.submit(new GenerationRequest(prompt(9, 3), 16, SamplingParams.GREEDY), greedy);
            greedy.await();
        }
        int[] plain = new Generator(transformer, KvCache.Type.F32, 512).generate(prompt(9, 3), 16, SamplingParams.GREEDY);
        assertThat(greedy.ids()).containsExactly(plain);
    }

    @Test
    void aLongPromptIsPrefilledInChunksWhileOtherStreamsKeepDecoding() throws Exception {
        try (InferenceEngine engine = new InferenceEngine(transformer, new EngineConfig(4, 16, 1L << 30, 16, KvCache.Type.F32))) {
            CountDownLatch firstToken = new CountDownLatch(1);
            List<Integer> shortStream = new ArrayList<>();
            int[] shortCountWhenLongStarted = {-1};
            CompletableFuture<FinishReason> shortDone = new CompletableFuture<>();
            engine.submit(new GenerationRequest(prompt(4, 1), 200, SamplingParams.GREEDY), new TokenSink() {
                @Override public boolean onToken(int token) { synchronized (shortStream) { shortStream.add(token); } firstToken.countDown(); return true; }
                @Override public void onFinish(FinishReason reason) { shortDone.complete(reason); }
                @Override public void onError(Exception error) { shortDone.completeExceptionally(error); }
            });
            assertThat(firstToken.await(60, TimeUnit.SECONDS)).isTrue();
            int before;
            synchronized (shortStream) { before = shortStream.size(); }
            Collector longOne = new Collector() {
                @Override public synchronized boolean onToken(int token) {
                    if (tokens.isEmpty()) synchronized (shortStream) { shortCountWhenLongStarted[0] = shortStream.size(); }
                    return super.onToken(token);
                }
            };
            engine.submit(new GenerationRequest(prompt(320, 2), 4, SamplingParams.GREEDY), longOne);
            assertThat(longOne.await()).isEqualTo(FinishReason.LENGTH);
            // 320 prompt tokens at 16 per step take 20 steps; the short stream gets a token in each of them.
            assertThat(shortCountWhenLongStarted[0] - before).isGreaterThanOrEqualTo(19);
            assertThat(shortDone.get(60, TimeUnit.SECONDS)).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void aFullQueueRefusesAndCancellationFreesTheSlot() throws Exception {
        try (InferenceEngine engine = new InferenceEngine(transformer, new EngineConfig(1, 1, 1L << 30, 64, KvCache.Type.F32))) {
            CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
            CompletableFuture<FinishReason> blockerDone = new CompletableFuture<>();
            EngineHandle blocker = new EngineHandle();
            blocker.handle = engine.submit(new GenerationRequest(prompt(4, 5), 100, SamplingParams.GREEDY), new TokenSink() {
                @Override public boolean onToken(int token) {
                    inside.countDown();
                    try { release.await(); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
                    return true;
                }
                @Override public void onFinish(FinishReason reason) { blockerDone.complete(reason); }
                @Override public void onError(Exception error) { blockerDone.completeExceptionally(error); }
            });
            assertThat(inside.await(60, TimeUnit.SECONDS)).isTrue(); // the engine thread is now held inside onToken
            Collector queued = new Collector();
            EngineHandle q = new EngineHandle();
            q.handle = engine.submit(new GenerationRequest(prompt(4, 6), 3, SamplingParams.GREEDY), queued);
            assertThatThrownBy(() -> engine.submit(new GenerationRequest(prompt(4, 7), 3, SamplingParams.GREEDY), new Collector()))
                    .isInstanceOf(OverloadedException.class).hasMessageContaining("at capacity");
            q.handle.cancel();
            assertThat(queued.await()).isEqualTo(FinishReason.CANCELLED);
            blocker.handle.cancel();
            release.countDown();
            assertThat(blockerDone.get(60, TimeUnit.SECONDS)).isEqualTo(FinishReason.CANCELLED);
            org.awaitility.Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> engine.stats().running() == 0);
            assertThat(engine.stats().kvReservedBytes()).isZero();
        }
    }

    static final class EngineHandle {
        InferenceEngine.Handle handle;
    }

    @Test
    void requestsThatCanNeverRunAreRefusedUpFront() {
        try (InferenceEngine engine = new InferenceEngine(transformer, new EngineConfig(1, 1, 1L << 18, 64, KvCache.Type.F32))) {
            int context = transformer.config().context();
            assertThatThrownBy(() -> engine.submit(new GenerationRequest(prompt(context, 1), 1, SamplingParams.GREEDY), new Collector()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the model's context is " + context);
            assertThatThrownBy(() -> engine.submit(new GenerationRequest(prompt(10, 1), context, SamplingParams.GREEDY), new Collector()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds the model's context");
            assertThatThrownBy(() -> engine.submit(new GenerationRequest(prompt(10, 1), 1500, SamplingParams.GREEDY), new Collector()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than the server's whole budget");
        }
    }

    @Test
    void aStopTokenEndsTheSequenceWithStopAndIsNeverEmitted() throws Exception {
        int[] prompt = prompt(9, 3);
        int[] free = new Generator(transformer, KvCache.Type.F32, 512).generate(prompt, 16, SamplingParams.GREEDY);
        // the first token that did not appear before it: stopping there cuts the output exactly at it
        int at = 1;
        while (at < free.length && contains(Arrays.copyOf(free, at), free[at])) at++;
        assertThat(at).as("a token of the greedy output not seen before it").isLessThan(free.length);
        GenerationRequest stopped = new GenerationRequest(prompt, 16, SamplingParams.GREEDY, new StopPolicy(new int[]{free[at]}, List.of()));

        Collector served = new Collector();
        try (InferenceEngine engine = new InferenceEngine(transformer, EngineConfig.defaults())) {
            engine.submit(stopped, served);
            assertThat(served.await()).isEqualTo(FinishReason.STOP);
            await().atMost(30, TimeUnit.SECONDS).until(() -> engine.stats().running() == 0);
            assertThat(engine.stats().kvReservedBytes()).isZero();
        }
        assertThat(served.ids()).containsExactly(Arrays.copyOf(free, at));
        // the caller-thread loop follows the same rule
        CollectedTokens alone = new CollectedTokens();
        new Generator(transformer, KvCache.Type.F32, 512).generate(stopped, alone);
        assertThat(alone.reason()).isEqualTo(FinishReason.STOP);
        assertThat(alone.tokens()).containsExactly(Arrays.copyOf(free, at));
    }

    @Test
    void requestsBeyondTheKvBudgetWaitThenCompleteWithTheirOwnTokens() throws Exception {
        GenerationRequest[] requests = new GenerationRequest[3];
        int[][] expected = new int[3][];
        for (int i = 0; i < 3; i++) {
            requests[i] = new GenerationRequest(prompt(6, 20 + i), 8, new SamplingParams(0.8f, 0, 1f, 70 + i));
            expected[i] = new Generator(transformer, KvCache.Type.F32, 512).generate(requests[i], t -> {});
        }
        // room for one request's KV cache at a time, though up to 4 could run together
        long oneRequest = requests[0].positions() * KvCache.bytesPerPosition(transformer.config(), KvCache.Type.F32);
        try (InferenceEngine engine = new InferenceEngine(transformer, new EngineConfig(4, 16, oneRequest, 64, KvCache.Type.F32))) {
            CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
            Collector first = new Collector() {
                @Override public synchronized boolean onToken(int token) {
                    inside.countDown();
                    try { release.await(60, TimeUnit.SECONDS); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
                    return super.onToken(token);
                }
            };
            engine.submit(requests[0], first);
            assertThat(inside.await(60, TimeUnit.SECONDS)).isTrue(); // the first holds the whole budget
            Collector second = new Collector(), third = new Collector();
            engine.submit(requests[1], second);
            engine.submit(requests[2], third);
            InferenceEngine.Stats held = engine.stats();
            assertThat(held.running()).isEqualTo(1);
            assertThat(held.waiting()).isEqualTo(2);
            assertThat(held.kvReservedBytes()).isEqualTo(oneRequest);
            release.countDown();
            Collector[] all = {first, second, third};
            for (int i = 0; i < 3; i++) {
                assertThat(all[i].await()).isEqualTo(FinishReason.LENGTH);
                assertThat(all[i].ids()).as("request %d", i).containsExactly(expected[i]);
            }
            await().atMost(30, TimeUnit.SECONDS).until(() -> engine.stats().running() == 0);
            assertThat(engine.stats().kvReservedBytes()).isZero();
            assertThat(engine.stats().waiting()).isZero();
        }
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }
}
