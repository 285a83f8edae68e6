package dev.mixtral.server.engine;

import dev.mixtral.model.SharedData;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.model.forward.Transformer;
import dev.mixtral.model.weights.ModelFiles;
import dev.mixtral.model.generate.CollectedTokens;
import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.generate.StopPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.mixtral.server.engine.InferenceEngineTest.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The engine's rules for stop tokens and for requests that wait for KV-cache memory. */
class EngineRulesTest {
    static ModelFiles files;
    static Transformer transformer;

    @BeforeAll
    static void load() {
        files = ModelFiles.open(SharedData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"));
        transformer = new Transformer(files.config(), files.loadDense(), LocalExperts.loadAll(files));
    }

    @AfterAll
    static void close() {
        files.close();
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

        InferenceEngineTest.Collector served = new InferenceEngineTest.Collector();
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
            InferenceEngineTest.Collector first = new InferenceEngineTest.Collector() {
                @Override public synchronized boolean onToken(int token) {
                    inside.countDown();
                    try { release.await(60, TimeUnit.SECONDS); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
                    return super.onToken(token);
                }
            };
            engine.submit(requests[0], first);
            assertThat(inside.await(60, TimeUnit.SECONDS)).isTrue(); // the first holds the whole budget
            InferenceEngineTest.Collector second = new InferenceEngineTest.Collector(), third = new InferenceEngineTest.Collector();
            engine.submit(requests[1], second);
            engine.submit(requests[2], third);
            InferenceEngine.Stats held = engine.stats();
            assertThat(held.running()).isEqualTo(1);
            assertThat(held.waiting()).isEqualTo(2);
            assertThat(held.kvReservedBytes()).isEqualTo(oneRequest);
            release.countDown();
            InferenceEngineTest.Collector[] all = {first, second, third};
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
