package dev.mixtral.model.synth;

import dev.mixtral.model.gguf.GgufValue;
import dev.mixtral.model.io.PythonJson;
import dev.mixtral.model.gguf.GgufValueType;
import dev.mixtral.model.gguf.GgufWriter;
import dev.mixtral.model.io.ProgressListener;
import dev.mixtral.model.safetensors.SafetensorsWriter;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tokenizer.Vocabulary;
import dev.mixtral.model.weights.ExpertProjection;
import dev.mixtral.model.weights.GgufTensorNames;
import dev.mixtral.model.weights.HuggingFaceTensorNames;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes deterministic random-weight Mixtral models ({@link SynthWeights}) in the two real formats:
 * GGUF laid out as llama.cpp's converter writes Mixtral, and a Hugging Face {@code MixtralForCausalLM}
 * checkpoint. Generation is streamed and parallel: rows are computed in chunks by a pool of threads
 * and encoded straight into the memory-mapped output, never a whole tensor on the heap; the bytes do
 * not depend on the thread count.
 */
public final class SyntheticModel {
    private static final System.Logger LOG = System.getLogger(SyntheticModel.class.getName());
    /** Elements generated per work item (about 1 MB of floats). */
    private static final int TASK_ELEMENTS = 1 << 18;

    private SyntheticModel() {}

    /** Computes one row (the tensor's {@code shape[0]} values) of an output tensor. */
    @FunctionalInterface
    public interface RowSource {
        void row(long row, float[] dst, int off);
    }

    /**
     * An output tensor: name, stored type, shape in ggml order, and where its f32 values come from
     * (the values before encoding to {@code type}).
     */
    public record Planned(String name, GgmlType type, long[] shape, RowSource source) {
        public long cols() {
            return shape[0];
        }

        public long rows() {
            long r = 1;
            for (int i = 1; i < shape.length; i++) r *= shape[i];
            return r;
        }
    }

    // ---- GGUF -----------------------------------------------------------------------------------

    public static void writeGguf(SynthSpec spec, GgmlType type, long seed, Path out, boolean splitExperts) {
        writeGguf(spec, type, seed, out, splitExperts, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Writes a GGUF file: {@code general.architecture = llama}, llama.* hyper-parameters with the types
     * llama.cpp expects, the bundled vocabulary and chat template, and the tensors of
     * {@link #ggufTensors}. {@code type} is the type of the weight matrices (norms and routers stay
     * F32); {@link GgmlType#Q4_K} means a Q4_K_M-like mix.
     */
    public static void writeGguf(SynthSpec spec, GgmlType type, long seed, Path out, boolean splitExperts, int threads) {
        writeGguf(spec, type, seed, out, splitExperts, threads, ProgressListener.NONE);
    }

    /** As {@link #writeGguf(SynthSpec, GgmlType, long, Path, boolean, int)}, telling {@code progress} the tensor bytes written. */
    public static void writeGguf(SynthSpec spec, GgmlType type, long seed, Path out, boolean splitExperts, int threads,
                                 ProgressListener progress) {
        writeGguf(spec, type, seed, RouterSkew.NONE, out, splitExperts, threads, progress);
    }

    /** As above, the experts of {@code skew} made hot (see {@link RouterSkew}). */
    public static void writeGguf(SynthSpec spec, GgmlType type, long seed, RouterSkew skew, Path out, boolean splitExperts, int threads,
                                 ProgressListener progress) {
        long t0 = System.nanoTime();
        List<String> fallbacks = new ArrayList<>();
        List<Planned> plans = ggufTensors(new SynthWeights(spec, seed, skew), type, splitExperts, fallbacks);
        if (!fallbacks.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "{0}: {1} tensor(s) have rows that are not a multiple of the"
                    + " block size of {2} and use a fallback type: {3}", out, Integer.toString(fallbacks.size()), type,
                    String.join(", ", fallbacks));
        }
        try (GgufWriter w = GgufWriter.create(out)) {
            w.putAll(ggufMetadata(spec, type, seed));
            if (!skew.equals(RouterSkew.NONE)) { // says so in the file, and gives it its own fingerprint
                w.put("synth.hot_experts", GgufValue.array(GgufValueType.INT32, skew.experts().stream().mapToLong(Integer::longValue).toArray()));
                w.put("synth.hot_router_scale", GgufValue.u32(skew.scale()));
            }
            if (!fallbacks.isEmpty()) {
                w.put("synth.type_fallback", GgufValue.array(GgufValueType.STRING, fallbacks.toArray(String[]::new)));
            }
            for (Planned p : plans) w.addTensor(p.name, p.type, p.shape);
            w.start();
            generate(plans, w::writeRows, threads, progress);
            w.finish();
            LOG.log(System.Logger.Level.INFO, "wrote {0} ({1} {2}, seed {3}): {4} bytes in {5} s", out,
                    spec.label(), type, Long.toString(seed), Long.toString(w.fileSize()), String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        }
    }

    /** The GGUF metadata of a synthetic model, in the order and with the types llama.cpp's converter uses. */
    public static Map<String, GgufValue> ggufMetadata(SynthSpec spec, GgmlType type, long seed) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string("llama"));
        m.put("general.type", GgufValue.string("model"));
        m.put("general.name", GgufValue.string("Mixtral synthetic " + spec.label() + " seed" + seed));
        m.put("llama.block_count", GgufValue.u32(spec.layers()));
        m.put("llama.context_length", GgufValue.u32(spec.context()));
        m.put("llama.embedding_length", GgufValue.u32(spec.dim()));
        m.put("llama.feed_forward_length", GgufValue.u32(spec.hidden()));
        m.put("llama.attention.head_count", GgufValue.u32(spec.heads()));
        m.put("llama.attention.head_count_kv", GgufValue.u32(spec.kvHeads()));
        m.put("llama.rope.freq_base", GgufValue.f32((float) spec.ropeTheta()));
        m.put("llama.attention.layer_norm_rms_epsilon", GgufValue.f32((float) spec.rmsEps()));
        m.put("llama.expert_count", GgufValue.u32(spec.experts()));
        m.put("llama.expert_used_count", GgufValue.u32(spec.topK()));
        m.put("general.file_type", GgufValue.u32(type.format().fileType()));
        m.put("llama.vocab_size", GgufValue.u32(spec.vocab()));
        m.put("llama.rope.dimension_count", GgufValue.u32(spec.headDim()));
        m.putAll(BundledVocabulary.ggufMetadata());
        m.put("general.quantization_version", GgufValue.u32(2));
        return m;
    }

    /**
     * The stored type of GGUF tensor {@code name} with rows of {@code cols} values, in a model of {@code layers}
     * layers and {@code experts} experts, when the file's matrices are {@code requested}: norms and routers are
     * F32; {@code Q4_K} is llama.cpp's Q4_K_M mix ({@link #q4KMType}). A type whose block does not divide the row
     * length falls back to Q8_0 (or F16 when 32 does not divide it either); the fallback is appended to
     * {@code fallbacks}.
     */
    public static GgmlType ggufType(String name, long cols, GgmlType requested, int layers, int experts, List<String> fallbacks) {
        if (name.endsWith("_norm.weight") || name.contains(".ffn_gate_inp.")) return GgmlType.F32;
        GgmlType t = requested == GgmlType.Q4_K ? q4KMType(name, layers, experts) : requested;
        if (cols % t.blockSize != 0) {
            GgmlType fb = cols % GgmlType.Q8_0.blockSize == 0 ? GgmlType.Q8_0 : GgmlType.F16;
            fallbacks.add(name + " " + t + "->" + fb);
            t = fb;
        }
        return t;
    }

    /**
     * The type llama-quantize gives a matrix in a Q4_K_M file (its {@code llama_tensor_get_type} at the goldens'
     * commit, for the tensors a Mixtral file has): the output head Q6_K; attn_v Q6_K in the layers of
     * {@link #usesMoreBits}, attn_k Q4_K — both Q8_0 in 8-expert models — and attn_output Q5_K there; the
     * experts' down-projections Q6_K in the layers of {@link #usesMoreBits}; everything else Q4_K.
     */
    static GgmlType q4KMType(String name, int layers, int experts) {
        if (name.equals("output.weight")) return GgmlType.Q6_K;
        boolean eightExperts = experts == 8;
        if (name.contains(".attn_v.")) {
            return eightExperts ? GgmlType.Q8_0 : usesMoreBits(layerOf(name), layers) ? GgmlType.Q6_K : GgmlType.Q4_K;
        }
        if (name.contains(".attn_k.")) return eightExperts ? GgmlType.Q8_0 : GgmlType.Q4_K;
        if (name.contains(".attn_output.")) return eightExperts ? GgmlType.Q5_K : GgmlType.Q4_K;
        if (name.contains(".ffn_down")) return usesMoreBits(layerOf(name), layers) ? GgmlType.Q6_K : GgmlType.Q4_K;
        return GgmlType.Q4_K;
    }

    /** llama.cpp's {@code use_more_bits}: the first and last eighth of the layers, and every third one between. */
    static boolean usesMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** N of a {@code blk.N.…} tensor name. */
    private static int layerOf(String name) {
        return Integer.parseInt(name.substring("blk.".length(), name.indexOf('.', "blk.".length())));
    }

    /**
     * Row {@code ggufRow} of a GGUF Q or K projection comes from this Hugging Face row: within each head,
     * GGUF row 2i = HF row i and GGUF row 2i+1 = HF row i + headDim/2 (llama.cpp rotates adjacent pairs,
     * Hugging Face rotates (i, i + headDim/2)).
     */
    public static long hfRowOfGgufRow(long ggufRow, int headDim) {
        long head = ggufRow / headDim;
        int j = (int) (ggufRow % headDim);
        return head * headDim + (j % 2 == 0 ? j / 2 : j / 2 + headDim / 2);
    }

    /** The tensors of the GGUF export in llama.cpp's order; {@code fallbacks} collects type fallbacks. */
    public static List<Planned> ggufTensors(SynthSpec spec, GgmlType type, long seed, boolean splitExperts,
                                            List<String> fallbacks) {
        return ggufTensors(new SynthWeights(spec, seed), type, splitExperts, fallbacks);
    }

    private static List<Planned> ggufTensors(SynthWeights w, GgmlType type, boolean splitExperts, List<String> fallbacks) {
        SynthSpec spec = w.spec();
        List<Planned> out = new ArrayList<>();
        int headDim = spec.headDim();
        GgufTensorNames g = GgufTensorNames.NAMES;
        HuggingFaceTensorNames hf = HuggingFaceTensorNames.NAMES;
        plain(out, w, g.embedding(), hf.embedding(), type, fallbacks);
        for (int l = 0; l < spec.layers(); l++) {
            plain(out, w, g.attentionNorm(l), hf.attentionNorm(l), type, fallbacks);
            permuted(out, w, g.query(l), hf.query(l), headDim, type, fallbacks);
            permuted(out, w, g.key(l), hf.key(l), headDim, type, fallbacks);
            plain(out, w, g.value(l), hf.value(l), type, fallbacks);
            plain(out, w, g.attentionOutput(l), hf.attentionOutput(l), type, fallbacks);
            plain(out, w, g.ffnNorm(l), hf.ffnNorm(l), type, fallbacks);
            plain(out, w, g.router(l), hf.router(l), type, fallbacks);
            if (splitExperts) {
                for (int e = 0; e < spec.experts(); e++) {
                    for (ExpertProjection p : ExpertProjection.values()) {
                        plain(out, w, g.expert(l, e, p), hf.expert(l, e, p), type, fallbacks);
                    }
                }
            } else {
                for (ExpertProjection p : ExpertProjection.values()) {
                    List<SynthWeights.Logical> experts = new ArrayList<>();
                    for (int e = 0; e < spec.experts(); e++) experts.add(w.tensor(hf.expert(l, e, p)));
                    SynthWeights.Logical first = experts.getFirst();
                    long rowsPerExpert = first.rows();
                    String name = g.stackedExperts(l, p);
                    out.add(new Planned(name, ggufType(name, first.cols(), type, spec.layers(), spec.experts(), fallbacks),
                            new long[] {first.cols(), rowsPerExpert, spec.experts()},
                            (r, dst, off) -> w.row(experts.get((int) (r / rowsPerExpert)), r % rowsPerExpert, dst, off)));
                }
            }
        }
        plain(out, w, g.outputNorm(), hf.outputNorm(), type, fallbacks);
        plain(out, w, g.output(), hf.output(), type, fallbacks);
        return out;
    }

    private static void plain(List<Planned> out, SynthWeights w, String name, String hfName, GgmlType type,
                              List<String> fallbacks) {
        SynthWeights.Logical t = w.tensor(hfName);
        long[] shape = t.rows() == 1 && t.init() == SynthWeights.Init.NORM_WEIGHT
                ? new long[] {t.cols()} : new long[] {t.cols(), t.rows()};
        out.add(new Planned(name, ggufType(name, t.cols(), type, w.spec().layers(), w.spec().experts(), fallbacks), shape, (r, dst, off) -> w.row(t, r, dst, off)));
    }

    private static void permuted(List<Planned> out, SynthWeights w, String name, String hfName, int headDim,
                                 GgmlType type, List<String> fallbacks) {
        SynthWeights.Logical t = w.tensor(hfName);
        out.add(new Planned(name, ggufType(name, t.cols(), type, w.spec().layers(), w.spec().experts(), fallbacks), new long[] {t.cols(), t.rows()},
                (r, dst, off) -> w.row(t, hfRowOfGgufRow(r, headDim), dst, off)));
    }

    // ---- Hugging Face ---------------------------------------------------------------------------

    public static void writeHuggingFace(SynthSpec spec, GgmlType type, long seed, Path dir) {
        writeHuggingFace(spec, type, seed, dir, Runtime.getRuntime().availableProcessors(),
                SafetensorsWriter.DEFAULT_SHARD_BYTES);
    }

    /**
     * Writes a Hugging Face Mixtral checkpoint into {@code dir}: {@code config.json},
     * {@code generation_config.json}, {@code tokenizer_config.json}, the tokenizer ({@link #writeTokenizerJson})
     * and {@code model.safetensors} (sharded with an index beyond {@code shardBytes}), Q/K un-permuted,
     * every tensor (norms included) stored as {@code type} (F32, F16 or BF16).
     */
    public static void writeHuggingFace(SynthSpec spec, GgmlType type, long seed, Path dir, int threads, long shardBytes) {
        writeHuggingFace(spec, type, seed, dir, threads, shardBytes, ProgressListener.NONE);
    }

    /** As {@link #writeHuggingFace(SynthSpec, GgmlType, long, Path, int, long)}, telling {@code progress} the tensor bytes written. */
    public static void writeHuggingFace(SynthSpec spec, GgmlType type, long seed, Path dir, int threads, long shardBytes,
                                        ProgressListener progress) {
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16) {
            throw new IllegalArgumentException("a Hugging Face checkpoint holds F32, F16 or BF16 weights, not " + type);
        }
        long t0 = System.nanoTime();
        List<Planned> plans = hfTensors(spec, type, seed);
        try {
            Files.createDirectories(dir);
            Vocabulary vocab = BundledVocabulary.vocabulary();
            write(dir.resolve("config.json"), PythonJson.dumps(hfConfig(spec, type, vocab)));
            Map<String, Object> gen = new LinkedHashMap<>();
            gen.put("bos_token_id", vocab.bos());
            gen.put("eos_token_id", vocab.eos());
            gen.put("transformers_version", "4.36.0");
            write(dir.resolve("generation_config.json"), PythonJson.dumps(gen));
            write(dir.resolve("tokenizer_config.json"), PythonJson.dumps(tokenizerConfig(vocab)));
            writeTokenizerJson(vocab, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write into " + dir + ": " + e.getMessage(), e);
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(dir, shardBytes)) {
            for (Planned p : plans) w.addTensor(p.name, p.type, p.shape);
            w.start();
            generate(plans, w::writeRows, threads, progress);
            w.finish();
            LOG.log(System.Logger.Level.INFO, "wrote {0} ({1} {2}, seed {3}, {4} file(s)) in {5} s", dir,
                    spec.label(), type, Long.toString(seed), w.shardCount(), String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        }
    }

    /**
     * Hook: writes {@code tokenizer.json} for the checkpoint. Nothing is written yet; wire in
     * {@code TokenizerJson.write(vocab, dir.resolve("tokenizer.json"))} once the tokenizer package
     * provides it. (The golden tiny checkpoints carry no tokenizer files either.)
     */
    static void writeTokenizerJson(Vocabulary vocab, Path dir) {
        dev.mixtral.model.tokenizer.TokenizerJson.write(vocab, dir.resolve("tokenizer.json"));
    }

    /** The tensors of the Hugging Face export in checkpoint order, shapes in ggml order. */
    public static List<Planned> hfTensors(SynthSpec spec, GgmlType type, long seed) {
        SynthWeights w = new SynthWeights(spec, seed);
        List<Planned> out = new ArrayList<>();
        for (SynthWeights.Logical t : w.tensors()) {
            long[] shape = t.init() == SynthWeights.Init.NORM_WEIGHT ? new long[] {t.cols()} : new long[] {t.cols(), t.rows()};
            out.add(new Planned(t.name(), type, shape, (r, dst, off) -> w.row(t, r, dst, off)));
        }
        return out;
    }

    /** {@code config.json} of MixtralForCausalLM, keys sorted as transformers writes them. */
    static Map<String, Object> hfConfig(SynthSpec spec, GgmlType type, Vocabulary vocab) {
        Map<String, Object> c = new TreeMap<>();
        c.put("architectures", List.of("MixtralForCausalLM"));
        c.put("attention_dropout", 0.0);
        c.put("bos_token_id", vocab.bos());
        c.put("eos_token_id", vocab.eos());
        c.put("hidden_act", "silu");
        c.put("hidden_size", spec.dim());
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", spec.hidden());
        c.put("max_position_embeddings", spec.context());
        c.put("model_type", "mixtral");
        c.put("num_attention_heads", spec.heads());
        c.put("num_experts_per_tok", spec.topK());
        c.put("num_hidden_layers", spec.layers());
        c.put("num_key_value_heads", spec.kvHeads());
        c.put("num_local_experts", spec.experts());
        c.put("output_router_logits", false);
        c.put("rms_norm_eps", spec.rmsEps());
        c.put("rope_theta", spec.ropeTheta());
        c.put("router_aux_loss_coef", 0.02);
        c.put("sliding_window", null);
        c.put("tie_word_embeddings", false);
        c.put("torch_dtype", switch (type) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> throw new IllegalArgumentException(type.toString());
        });
        c.put("transformers_version", "4.36.0");
        c.put("use_cache", true);
        c.put("vocab_size", spec.vocab());
        return c;
    }

    /** {@code tokenizer_config.json} as in the golden checkpoints (LlamaTokenizer, Mistral chat template). */
    static Map<String, Object> tokenizerConfig(Vocabulary vocab) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("add_bos_token", vocab.addBos());
        c.put("add_eos_token", false);
        c.put("bos_token", vocab.tokens()[vocab.bos()]);
        c.put("eos_token", vocab.tokens()[vocab.eos()]);
        c.put("unk_token", vocab.tokens()[vocab.unk()]);
        c.put("pad_token", null);
        c.put("legacy", true);
        c.put("model_max_length", new BigInteger("1000000000000000019884624838656"));
        c.put("tokenizer_class", "LlamaTokenizer");
        c.put("chat_template", BundledVocabulary.CHAT_TEMPLATE);
        return c;
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    // ---- parallel generation --------------------------------------------------------------------

    /** Receives {@code count} consecutive encoded rows of a tensor. */
    @FunctionalInterface
    interface RowSink {
        void write(String name, long firstRow, int count, float[] src, int srcOff);
    }

    private record Task(Planned tensor, long firstRow, int count) {}

    /**
     * Fills every planned tensor through {@code sink}, in chunks of about {@link #TASK_ELEMENTS} values,
     * from {@code threads} threads taking chunks in file order. Each thread reuses one buffer.
     * {@code progress} hears the encoded bytes of the finished chunks.
     */
    static void generate(List<Planned> plans, RowSink sink, int threads, ProgressListener progress) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
        List<Task> tasks = new ArrayList<>();
        int maxElements = 0;
        long totalBytes = 0;
        for (Planned p : plans) {
            totalBytes += p.rows() * p.type().bytesFor(p.cols());
            int cols = Math.toIntExact(p.cols());
            int perTask = Math.max(1, TASK_ELEMENTS / cols);
            for (long r = 0; r < p.rows(); r += perTask) {
                int count = (int) Math.min(perTask, p.rows() - r);
                tasks.add(new Task(p, r, count));
                maxElements = Math.max(maxElements, count * cols);
            }
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong doneBytes = new AtomicLong();
        long total = totalBytes;
        progress.progress(0, total);
        int bufferSize = maxElements;
        Runnable worker = () -> {
            float[] buf = new float[bufferSize];
            int i;
            while (failure.get() == null && (i = next.getAndIncrement()) < tasks.size()) {
                Task t = tasks.get(i);
                try {
                    int cols = (int) t.tensor.cols();
                    for (int r = 0; r < t.count; r++) t.tensor.source.row(t.firstRow + r, buf, r * cols);
                    sink.write(t.tensor.name, t.firstRow, t.count, buf, 0);
                    progress.progress(doneBytes.addAndGet(t.count * t.tensor.type().bytesFor(cols)), total);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }
        };
        int n = Math.min(threads, Math.max(1, tasks.size()));
        List<Thread> pool = new ArrayList<>();
        for (int k = 1; k < n; k++) pool.add(Thread.ofPlatform().name("synth-" + k).start(worker));
        worker.run();
        boolean interrupted = false;
        for (Thread th : pool) {
            while (true) {
                try {
                    th.join(); // the workers write into a mapping that is closed after this returns
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    failure.compareAndSet(null, e); // makes the workers stop after their current chunk
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        Throwable f = failure.get();
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error err) throw err;
        if (f != null) throw new IllegalStateException("synthetic model generation failed", f);
    }
}
