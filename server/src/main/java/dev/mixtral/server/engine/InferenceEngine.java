package dev.mixtral.server.engine;

import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.generate.TokenSink;
import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.Sampler;
import dev.mixtral.model.forward.Sequence;
import dev.mixtral.model.forward.Transformer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching: one thread runs the model step after step; requests join the running batch at
 * any step and leave it as soon as they finish. A step holds every running sequence's next token plus
 * a budget of prompt tokens still to prefill, so each expert sees all its tokens of the step in one
 * batch. The forward pass is batch-invariant and each sequence samples from its own seeded stream, so
 * a request gets the same tokens alone or among others.
 */
public final class InferenceEngine implements AutoCloseable {
    private final Transformer transformer;
    private final EngineConfig config;
    private final long kvBytesPerPosition;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Active> waiting = new ArrayDeque<>();
    private final List<Active> running = new ArrayList<>(); // engine thread only
    private volatile int runningCount;
    private long kvReserved; // guarded by lock
    private volatile boolean closed;
    private final Thread loop;
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong stepTokens = new AtomicLong();

    /** A snapshot for metrics and admission decisions. */
    public record Stats(int running, int waiting, long kvReservedBytes, long kvBudgetBytes, long steps, long tokensProcessed) {}

    /** Lets the caller cancel a request (e.g. when its client disconnects). */
    public interface Handle {
        void cancel();
    }

    private final class Active implements Handle {
        final GenerationRequest request;
        final TokenSink sink;
        final Sampler sampler;
        final long kvBytes;
        Sequence sequence;
        int prefilled;
        int generated;
        int lastToken = -1;
        volatile boolean cancelled;

        Active(GenerationRequest request, TokenSink sink) {
            this.request = request;
            this.sink = sink;
            this.sampler = new Sampler(request.sampling());
            this.kvBytes = positions() * kvBytesPerPosition;
        }

        int positions() {
            return request.prompt().length + request.maxTokens();
        }

        @Override
        public void cancel() {
            cancelled = true;
            lock.lock();
            try {
                if (waiting.remove(this)) {
                    sink.onFinish(FinishReason.CANCELLED);
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
        this.loop = Thread.ofPlatform().name("inference-engine").daemon().start(this::run);
    }

    public ModelConfig modelConfig() {
        return transformer.config();
    }

    public EngineConfig config() {
        return config;
    }

    /**
     * Queues a request. Fails at once with {@link IllegalArgumentException} when it can never run (longer
     * than the context, or needing more KV memory than the whole budget) and with
     * {@link OverloadedException} when the queue is full.
     */
    public Handle submit(GenerationRequest request, TokenSink sink) {
        int context = transformer.config().context();
        if (request.prompt().length >= context) {
            throw new IllegalArgumentException("the prompt has " + request.prompt().length
                    + " tokens; the model's context is " + context + " tokens");
        }
        if (request.prompt().length + request.maxTokens() > context) {
            throw new IllegalArgumentException("prompt (" + request.prompt().length + " tokens) + max_tokens ("
                    + request.maxTokens() + ") exceeds the model's context of " + context + " tokens");
        }
        for (int t : request.prompt()) {
            if (t < 0 || t >= transformer.config().vocab()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (transformer.config().vocab() - 1) + ")");
            }
        }
        Active a = new Active(request, sink);
        if (a.kvBytes > config.kvBudgetBytes()) {
            throw new IllegalArgumentException("the request needs " + a.kvBytes + " bytes of KV cache, more than the server's whole budget of "
                    + config.kvBudgetBytes() + "; lower max_tokens or the prompt length");
        }
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("the engine is shut down");
            if (waiting.size() >= config.maxWaiting()) {
                throw new OverloadedException("the server is at capacity (" + runningCount + " running, "
                        + waiting.size() + " waiting); retry later");
            }
            waiting.add(a);
            work.signal();
        } finally {
            lock.unlock();
        }
        return a;
    }

    public Stats stats() {
        lock.lock();
        try {
            return new Stats(runningCount, waiting.size(), kvReserved, config.kvBudgetBytes(), steps.get(), stepTokens.get());
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (true) {
            if (!admit()) return;
            step();
        }
    }

    /** Moves waiting requests into the batch while limits allow; blocks while there is nothing to do. */
    private boolean admit() {
        lock.lock();
        try {
            while (true) {
                if (closed) return false;
                while (!waiting.isEmpty() && running.size() < config.maxRunning()
                        && kvReserved + waiting.peek().kvBytes <= config.kvBudgetBytes()) {
                    Active a = waiting.poll();
                    kvReserved += a.kvBytes;
                    a.sequence = new Sequence(new KvCache(transformer.config(), config.kvType(), a.positions()));
                    running.add(a);
                }
                runningCount = running.size();
                if (!running.isEmpty()) return true;
                work.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** One forward step over every running sequence. */
    private void step() {
        List<Active> inStep = new ArrayList<>();
        List<Transformer.Chunk> chunks = new ArrayList<>();
        int prefillBudget = config.prefillChunk();
        for (Iterator<Active> it = running.iterator(); it.hasNext(); ) {
            Active a = it.next();
            if (a.cancelled) {
                release(a);
                it.remove();
                a.sink.onFinish(FinishReason.CANCELLED);
                continue;
            }
            int[] prompt = a.request.prompt();
            if (a.prefilled < prompt.length) {
                int n = Math.min(prompt.length - a.prefilled, prefillBudget);
                if (n == 0) continue; // this step's prefill budget is spent; decode streams still go
                prefillBudget -= n;
                chunks.add(new Transformer.Chunk(a.sequence, Arrays.copyOfRange(prompt, a.prefilled, a.prefilled + n), false));
                a.prefilled += n;
            } else {
                chunks.add(new Transformer.Chunk(a.sequence, new int[]{a.lastToken}, false));
            }
            inStep.add(a);
        }
        if (chunks.isEmpty()) {
            updateCount();
            return;
        }
        float[][] logits;
        try {
            logits = transformer.forward(chunks);
        } catch (RuntimeException e) {
            // A failed step (e.g. experts unreachable) fails the sequences in it, never the engine.
            for (Active a : inStep) {
                release(a);
                running.remove(a);
                a.sink.onError(e);
            }
            updateCount();
            return;
        }
        steps.incrementAndGet();
        for (Transformer.Chunk c : chunks) stepTokens.addAndGet(c.tokens().length);
        for (int i = 0; i < inStep.size(); i++) {
            Active a = inStep.get(i);
            if (a.prefilled < a.request.prompt().length) continue; // prompt not finished: no token yet
            FinishReason done = emit(a, a.sampler.next(logits[i]));
            if (done != null) {
                release(a);
                running.remove(a);
                a.sink.onFinish(done);
            }
        }
        updateCount();
    }

    /** Hands a sampled token to the sink; returns why the sequence ends, or null to go on. */
    private FinishReason emit(Active a, int token) {
        a.generated++;
        a.lastToken = token;
        if (a.request.isStopToken(token)) return FinishReason.STOP;
        boolean more;
        try {
            more = a.sink.onToken(token);
        } catch (RuntimeException e) {
            return FinishReason.CANCELLED; // a broken sink (client gone) ends only its own sequence
        }
        if (!more) return FinishReason.STOP;
        if (a.cancelled) return FinishReason.CANCELLED;
        if (a.generated >= a.request.maxTokens()) return FinishReason.LENGTH;
        return null;
    }

    private void release(Active a) {
        lock.lock();
        try {
            kvReserved -= a.kvBytes;
        } finally {
            lock.unlock();
        }
        a.sequence = null;
    }

    private void updateCount() {
        runningCount = running.size();
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            for (Active a : waiting) a.sink.onError(new IllegalStateException("the server is shutting down"));
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
        for (Active a : running) a.sink.onError(new IllegalStateException("the server is shutting down"));
        running.clear();
    }
}
