package dev.mixtral.server.engine;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.Transformer;
import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.model.generate.GenerationBatch;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.generate.InvalidRequestException;
import dev.mixtral.model.generate.TokenSink;

import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching: one thread steps a {@link GenerationBatch} again and again; requests join it at
 * any step and leave it as soon as they finish. This class adds what serving needs around the loop: a
 * bounded queue, and admission under a KV-cache memory budget (a request reserves its prompt plus
 * {@code max_tokens} positions when admitted, so it can never run out later).
 */
public final class InferenceEngine implements AutoCloseable {
    private final Transformer transformer;
    private final EngineConfig config;
    private final long kvBytesPerPosition;
    private final GenerationBatch batch; // engine thread only
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    private volatile int runningCount;
    private volatile long steps;
    private volatile long tokensProcessed;
    private long kvReserved; // guarded by lock
    private volatile boolean closed;
    private final Thread loop;

    /** A snapshot for metrics and admission decisions. */
    public record Stats(int running, int waiting, long kvReservedBytes, long kvBudgetBytes, long steps, long tokensProcessed) {}

    /** Lets the caller cancel a request (e.g. when its client disconnects). */
    public interface Handle {
        void cancel();
    }

    private final class Pending implements Handle {
        final GenerationRequest request;
        final TokenSink sink;
        GenerationBatch.Running running; // set under lock when admitted

        Pending(GenerationRequest request, TokenSink sink) {
            this.request = request;
            this.sink = sink;
        }

        @Override
        public void cancel() {
            lock.lock();
            try {
                if (waiting.remove(this)) {
                    sink.onFinish(FinishReason.CANCELLED);
                } else if (running != null) {
                    running.cancel();
                }
                work.signal();
            } finally {
                lock.unlock();
            }
        }
    }

    public InferenceEngine(Transformer transformer, EngineConfig config) {
        this.transformer = transformer;
        this.config = config;
        this.kvBytesPerPosition = KvCache.bytesPerPosition(transformer.config(), config.kvType());
        this.batch = new GenerationBatch(transformer, config.kvType(), config.prefillChunk(), this::release);
        this.loop = Thread.ofPlatform().name("inference-engine").daemon().start(this::run);
    }

    public ModelConfig modelConfig() {
        return transformer.config();
    }

    public EngineConfig config() {
        return config;
    }

    /**
     * Queues a request. Fails at once with {@link InvalidRequestException} when it can never run (see
     * {@link GenerationRequest#checkFits}, or needing more KV memory than the whole budget) and with
     * {@link OverloadedException} when the queue is full.
     */
    public Handle submit(GenerationRequest request, TokenSink sink) {
        request.checkFits(transformer.config());
        if (kvBytes(request) > config.kvBudgetBytes()) {
            throw new InvalidRequestException("max_tokens", "the request needs " + kvBytes(request)
                    + " bytes of KV cache, more than the server's whole budget of " + config.kvBudgetBytes()
                    + "; lower max_tokens or the prompt length");
        }
        Pending p = new Pending(request, sink);
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("the engine is shut down");
            if (waiting.size() >= config.maxWaiting()) {
                throw new OverloadedException("the server is at capacity (" + runningCount + " running, "
                        + waiting.size() + " waiting); retry later");
            }
            waiting.add(p);
            work.signal();
        } finally {
            lock.unlock();
        }
        return p;
    }

    public Stats stats() {
        lock.lock();
        try {
            return new Stats(runningCount, waiting.size(), kvReserved, config.kvBudgetBytes(), steps, tokensProcessed);
        } finally {
            lock.unlock();
        }
    }

    private long kvBytes(GenerationRequest request) {
        return request.positions() * kvBytesPerPosition;
    }

    private void run() {
        while (admit()) {
            batch.step();
            steps = batch.steps();
            tokensProcessed = batch.tokensProcessed();
            runningCount = batch.size();
        }
    }

    /** Moves waiting requests into the batch while limits allow; blocks while there is nothing to do. */
    private boolean admit() {
        lock.lock();
        try {
            while (true) {
                if (closed) return false;
                while (!waiting.isEmpty() && batch.size() < config.maxRunning()
                        && kvReserved + kvBytes(waiting.peek().request) <= config.kvBudgetBytes()) {
                    Pending p = waiting.poll();
                    kvReserved += kvBytes(p.request);
                    p.running = batch.add(p.request, p.sink);
                }
                runningCount = batch.size();
                if (!batch.isEmpty()) return true;
                work.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    private void release(GenerationRequest request) {
        lock.lock();
        try {
            kvReserved -= kvBytes(request);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            for (Pending p : waiting) p.sink.onError(new IllegalStateException("the server is shutting down"));
            waiting.clear();
            work.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        batch.failAll(new IllegalStateException("the server is shutting down"));
        runningCount = 0;
    }
}
