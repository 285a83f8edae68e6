package dev.mixtral.model.generate;

import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.Sampler;
import dev.mixtral.model.forward.Sequence;
import dev.mixtral.model.forward.Transformer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * The generation loop, the only one: the sequences being generated together and the step that advances
 * them all by one forward pass. A step holds every decoding sequence's next token plus up to
 * {@code prefillChunk} prompt tokens still to prefill, so each expert sees all its tokens of the step in
 * one batch and a long prompt does not stall the others. The serving engine drives a batch from its own
 * thread, adding requests between steps; {@link #run} drives one request to its end on the caller's
 * thread. The forward pass is batch-invariant and each sequence samples from its own seeded stream, so a
 * request gets the same tokens either way, alone or among others.
 *
 * <p>The rules of a sequence's end live here: a stop token ends it with {@link FinishReason#STOP} and is
 * not emitted; a sink that returns false ends it with STOP (a stop string); {@code maxTokens} ends it with
 * {@link FinishReason#LENGTH}; a cancelled or broken sink with {@link FinishReason#CANCELLED}; a failed
 * forward step fails the sequences in that step ({@link TokenSink#onError}), never the batch.
 *
 * <p>Not thread-safe: one thread steps a batch; only {@link Running#cancel} may be called from others.
 */
public final class GenerationBatch {
    private final Transformer transformer;
    private final KvCache.Type kvType;
    private final int prefillChunk;
    private final Consumer<GenerationRequest> onLeave;
    private final List<Running> running = new ArrayList<>();
    private long steps;
    private long tokensProcessed;

    /** A sequence in the batch. */
    public static final class Running {
        private final GenerationRequest request;
        private final TokenSink sink;
        private final Sampler sampler;
        private Sequence sequence;
        private int prefilled;
        private int generated;
        private int lastToken = -1;
        private volatile boolean cancelled;

        private Running(GenerationRequest request, TokenSink sink, Sequence sequence) {
            this.request = request;
            this.sink = sink;
            this.sampler = new Sampler(request.sampling());
            this.sequence = sequence;
        }

        public GenerationRequest request() {
            return request;
        }

        /** Ends the sequence at the next step with {@link FinishReason#CANCELLED}; any thread. */
        public void cancel() {
            cancelled = true;
        }
    }

    /**
     * @param prefillChunk prompt tokens processed per step across all sequences
     * @param onLeave      told of each request as it leaves the batch, before its sink hears how it ended
     *                     (so a caller's accounting is settled by the time the request's owner learns of it)
     */
    public GenerationBatch(Transformer transformer, KvCache.Type kvType, int prefillChunk, Consumer<GenerationRequest> onLeave) {
        if (prefillChunk < 1) throw new IllegalArgumentException("the prefill chunk must be >= 1, got " + prefillChunk);
        this.transformer = transformer;
        this.kvType = kvType;
        this.prefillChunk = prefillChunk;
        this.onLeave = onLeave;
    }

    /** Runs one request to its end on this thread; the sink hears everything before this returns. */
    public static void run(Transformer transformer, KvCache.Type kvType, int prefillChunk, GenerationRequest request, TokenSink sink) {
        GenerationBatch batch = new GenerationBatch(transformer, kvType, prefillChunk, r -> {});
        batch.add(request, sink);
        while (!batch.isEmpty()) batch.step();
    }

    /** Adds a request, which must fit the model ({@link GenerationRequest#checkFits}); it joins at the next step. */
    public Running add(GenerationRequest request, TokenSink sink) {
        request.checkFits(transformer.config());
        Running r = new Running(request, sink, new Sequence(new KvCache(transformer.config(), kvType, request.positions())));
        running.add(r);
        return r;
    }

    public boolean isEmpty() {
        return running.isEmpty();
    }

    public int size() {
        return running.size();
    }

    /** Forward steps run so far. */
    public long steps() {
        return steps;
    }

    /** Tokens (prompt and generated) that went through the model so far. */
    public long tokensProcessed() {
        return tokensProcessed;
    }

    /** One forward step over every sequence in the batch; sequences that end in it leave the batch. */
    public void step() {
        List<Running> inStep = new ArrayList<>();
        List<Transformer.Chunk> chunks = new ArrayList<>();
        int prefillBudget = prefillChunk;
        for (Iterator<Running> it = running.iterator(); it.hasNext(); ) {
            Running r = it.next();
            if (r.cancelled) {
                it.remove();
                leave(r);
                r.sink.onFinish(FinishReason.CANCELLED);
                continue;
            }
            int[] prompt = r.request.prompt();
            if (r.prefilled < prompt.length) {
                int n = Math.min(prompt.length - r.prefilled, prefillBudget);
                if (n == 0) continue; // this step's prefill budget is spent; decode streams still go
                prefillBudget -= n;
                chunks.add(new Transformer.Chunk(r.sequence, Arrays.copyOfRange(prompt, r.prefilled, r.prefilled + n), false));
                r.prefilled += n;
            } else {
                chunks.add(new Transformer.Chunk(r.sequence, new int[]{r.lastToken}, false));
            }
            inStep.add(r);
        }
        if (chunks.isEmpty()) return;
        float[][] logits;
        try {
            logits = transformer.forward(chunks);
        } catch (RuntimeException e) {
            // A failed step (e.g. experts unreachable) fails the sequences in it, never the batch.
            for (Running r : inStep) {
                running.remove(r);
                leave(r);
                r.sink.onError(e);
            }
            return;
        }
        steps++;
        for (Transformer.Chunk c : chunks) tokensProcessed += c.tokens().length;
        for (int i = 0; i < inStep.size(); i++) {
            Running r = inStep.get(i);
            if (r.prefilled < r.request.prompt().length) continue; // prompt not finished: no token yet
            FinishReason done = emit(r, r.sampler.next(logits[i]));
            if (done != null) {
                running.remove(r);
                leave(r);
                r.sink.onFinish(done);
            }
        }
    }

    /** Ends every sequence still in the batch with {@code error} (e.g. the server shutting down). */
    public void failAll(Exception error) {
        for (Running r : List.copyOf(running)) {
            running.remove(r);
            leave(r);
            r.sink.onError(error);
        }
    }

    /** Hands a sampled token to the sink; returns why the sequence ends, or null to go on. */
    private static FinishReason emit(Running r, int token) {
        r.generated++;
        r.lastToken = token;
        if (r.request.stop().isStopToken(token)) return FinishReason.STOP;
        boolean more;
        try {
            more = r.sink.onToken(token);
        } catch (RuntimeException e) {
            return FinishReason.CANCELLED; // a broken sink (client gone) ends only its own sequence
        }
        if (!more) return FinishReason.STOP;
        if (r.cancelled) return FinishReason.CANCELLED;
        if (r.generated >= r.request.maxTokens()) return FinishReason.LENGTH;
        return null;
    }

    private void leave(Running r) {
        r.sequence = null; // its KV cache can go now, whoever still holds the handle
        onLeave.accept(r.request);
    }
}
