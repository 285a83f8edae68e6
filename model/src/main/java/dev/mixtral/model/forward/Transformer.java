package dev.mixtral.model.forward;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.weights.DenseWeights;
import dev.mixtral.model.weights.LayerWeights;

import java.util.List;

/**
 * The Mixtral forward pass, the only one in the project: every mode (single process, coordinator,
 * batched serving) runs this code and differs only in the {@link ExpertExecutor} behind it.
 *
 * <p>One call processes a batch of chunks, each a run of consecutive tokens of one sequence (a prompt
 * being prefilled or one decode token). All tokens of the step go through each layer together, so
 * each expert sees all its tokens of the step in one batch. Every token's arithmetic is independent
 * of the others in the batch, so results do not depend on batching.
 */
public final class Transformer {
    private final ModelConfig c;
    private final DenseWeights w;
    private final ExpertExecutor experts;
    private final float attentionScale;
    private final double[] ropeFrequencies;

    /** A run of tokens of one sequence; {@code allLogits} asks for logits at every position, else only the last. */
    public record Chunk(Sequence sequence, int[] tokens, boolean allLogits) {
        public int logitRows() {
            return allLogits ? tokens.length : 1;
        }
    }

    public Transformer(ModelConfig config, DenseWeights weights, ExpertExecutor experts) {
        this.c = config;
        this.w = weights;
        this.experts = experts;
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
        this.ropeFrequencies = new double[config.headDim() / 2];
        for (int i = 0; i < ropeFrequencies.length; i++) {
            ropeFrequencies[i] = Math.pow(config.ropeTheta(), -2.0 * i / config.headDim());
        }
    }

    public ModelConfig config() {
        return c;
    }

    /**
     * Runs the chunks through the model, appending their keys and values to their sequences' caches.
     * Returns, per chunk, its logits: {@code logitRows() × vocab} row-major.
     */
    public float[][] forward(List<Chunk> chunks) {
        int dim = c.dim();
        int tokens = 0;
        for (Chunk ch : chunks) {
            if (ch.tokens().length == 0) throw new IllegalArgumentException("empty chunk");
            ch.sequence().cache().ensureCapacity(ch.sequence().length() + ch.tokens().length);
            tokens += ch.tokens().length;
        }
        int[] position = new int[tokens];
        Sequence[] sequenceOf = new Sequence[tokens];
        float[] x = new float[tokens * dim];
        int t = 0;
        for (Chunk ch : chunks) {
            for (int i = 0; i < ch.tokens().length; i++, t++) {
                int token = ch.tokens()[i];
                if (token < 0 || token >= c.vocab()) {
                    throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.." + (c.vocab() - 1) + ")");
                }
                position[t] = ch.sequence().length() + i;
                sequenceOf[t] = ch.sequence();
                w.embedding().row(token, x, t * dim);
            }
        }
        for (int l = 0; l < c.layers(); l++) {
            attention(l, w.layers().get(l), x, tokens, position, sequenceOf);
            feedForward(l, w.layers().get(l), x, tokens);
        }
        for (Chunk ch : chunks) ch.sequence().advance(ch.tokens().length);
        return logits(chunks, x);
    }

    private void attention(int layer, LayerWeights lw, float[] x, int tokens, int[] position, Sequence[] sequenceOf) {
        int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), headDim = c.headDim();
        float[] xb = new float[tokens * dim];
        rmsNorm(x, lw.attnNorm(), xb, tokens);
        float[] q = new float[tokens * qDim];
        float[] k = new float[tokens * kvDim];
        float[] v = new float[tokens * kvDim];
        lw.wq().multiply(xb, tokens, q);
        lw.wk().multiply(xb, tokens, k);
        lw.wv().multiply(xb, tokens, v);
        for (int t = 0; t < tokens; t++) {
            rope(q, t * qDim, c.heads(), position[t]);
            rope(k, t * kvDim, c.kvHeads(), position[t]);
            sequenceOf[t].cache().store(layer, position[t], k, t * kvDim, v, t * kvDim);
        }
        float[] att = new float[tokens * qDim];
        int kvHeads = c.kvHeads();
        int group = c.heads() / kvHeads;
        // (token, KV head) pairs go to the pool in chunks of at least ~64K multiply-adds of keys and values: a
        // fork costs about as much, so short contexts (every decode step of a small model) stay on this thread.
        // A pair serves the group of query heads sharing its keys and values (GroupAttention).
        int longest = 0;
        for (int t = 0; t < tokens; t++) longest = Math.max(longest, position[t] + 1);
        int grain = (int) Math.max(1, (1 << 16) / ((long) longest * headDim * group));
        Parallel.forRange(tokens * kvHeads, grain, (from, to) -> {
            float[][] scores = new float[0][0];
            for (int tg = from; tg < to; tg++) {
                int t = tg / kvHeads, g = tg % kvHeads;
                scores = GroupAttention.attend(sequenceOf[t].cache(), layer, position[t] + 1, g * headDim, q,
                        t * qDim + g * group * headDim, group, headDim, attentionScale, att, scores);
            }
        });
        float[] o = new float[tokens * dim];
        lw.wo().multiply(att, tokens, o);
        for (int i = 0; i < o.length; i++) x[i] += o[i];
    }

    /** Router (softmax → top-k → renormalise), experts through the executor, weighted sum added to x. */
    private void feedForward(int layer, LayerWeights lw, float[] x, int tokens) {
        int dim = c.dim(), nExperts = c.experts(), topK = c.topK();
        float[] xb = new float[tokens * dim];
        rmsNorm(x, lw.ffnNorm(), xb, tokens);
        float[] routerLogits = new float[tokens * nExperts];
        lw.router().multiply(xb, tokens, routerLogits);
        Routing routing = Routing.route(routerLogits, tokens, nExperts, topK);

        int[] active = routing.activeExperts();
        float[][] inputs = new float[active.length][];
        int[] rows = new int[active.length];
        for (int i = 0; i < active.length; i++) {
            int[] toks = routing.tokensOf(active[i]);
            rows[i] = toks.length;
            inputs[i] = new float[toks.length * dim];
            for (int r = 0; r < toks.length; r++) System.arraycopy(xb, toks[r] * dim, inputs[i], r * dim, dim);
        }
        float[][] outputs = experts.compute(new ExpertBatch(layer, active, rows, inputs));

        // Σ weight · expert output per token, experts in ascending index order: fixed, wherever they ran.
        float[] moe = new float[tokens * dim];
        for (int i = 0; i < active.length; i++) {
            int[] toks = routing.tokensOf(active[i]);
            float[] weights = routing.weightsOf(active[i]);
            float[] out = outputs[i];
            for (int r = 0; r < toks.length; r++) {
                int base = toks[r] * dim;
                float wgt = weights[r];
                for (int d = 0; d < dim; d++) moe[base + d] += wgt * out[r * dim + d];
            }
        }
        for (int i = 0; i < moe.length; i++) x[i] += moe[i];
    }

    private float[][] logits(List<Chunk> chunks, float[] x) {
        int dim = c.dim();
        int rows = 0;
        for (Chunk ch : chunks) rows += ch.logitRows();
        float[] selected = new float[rows * dim];
        int row = 0, t = 0;
        for (Chunk ch : chunks) {
            int n = ch.tokens().length;
            int first = ch.allLogits() ? 0 : n - 1;
            for (int i = first; i < n; i++) System.arraycopy(x, (t + i) * dim, selected, (row++) * dim, dim);
            t += n;
        }
        float[] normed = new float[rows * dim];
        rmsNorm(selected, w.outputNorm(), normed, rows);
        float[] all = new float[rows * c.vocab()];
        w.output().multiply(normed, rows, all);
        float[][] result = new float[chunks.size()][];
        row = 0;
        for (int i = 0; i < chunks.size(); i++) {
            int n = chunks.get(i).logitRows();
            result[i] = java.util.Arrays.copyOfRange(all, row * c.vocab(), (row + n) * c.vocab());
            row += n;
        }
        return result;
    }

    /** llama.cpp's RMSNorm: squares summed in double, mean rounded to float, scale = 1/sqrtf(mean + eps), then × weight. */
    private void rmsNorm(float[] in, float[] weight, float[] out, int rows) {
        int dim = c.dim();
        for (int r = 0; r < rows; r++) {
            int base = r * dim;
            double sum = 0;
            for (int i = 0; i < dim; i++) {
                float v = in[base + i];
                sum += v * v;
            }
            float mean = (float) (sum / dim);
            float scale = 1.0f / (float) Math.sqrt(mean + c.rmsEps());
            for (int i = 0; i < dim; i++) out[base + i] = (in[base + i] * scale) * weight[i];
        }
    }

    /** Rotates each head's pairs by position · frequency; which components pair up follows the file's layout. */
    private void rope(float[] v, int off, int heads, int pos) {
        int headDim = c.headDim(), half = headDim / 2;
        boolean adjacent = c.ropeLayout() == ModelConfig.RopeLayout.ADJACENT_PAIRS;
        for (int i = 0; i < half; i++) {
            double angle = pos * ropeFrequencies[i];
            float cos = (float) Math.cos(angle), sin = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int base = off + h * headDim;
                int a = adjacent ? base + 2 * i : base + i;
                int b = adjacent ? a + 1 : base + i + half;
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * cos - x1 * sin;
                v[b] = x0 * sin + x1 * cos;
            }
        }
    }
}
