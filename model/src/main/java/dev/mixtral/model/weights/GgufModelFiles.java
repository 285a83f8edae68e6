package dev.mixtral.model.weights;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.gguf.GgufValue;
import dev.mixtral.model.tensor.Tensor;
import dev.mixtral.model.tensor.Vectors;
import dev.mixtral.model.tensor.WeightMatrix;
import dev.mixtral.model.tokenizer.Vocabulary;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Mixtral GGUF as llama.cpp writes it: {@code general.architecture = llama} with expert counts,
 * experts stacked in {@code blk.N.ffn_{gate,up,down}_exps.weight} (or, in older files, one tensor per
 * expert {@code blk.N.ffn_gate.E.weight}), Q/K rows permuted for adjacent-pair RoPE.
 */
final class GgufModelFiles implements ModelFiles {
    private final GgufFile file;
    private final ModelConfig config;
    private final boolean stackedExperts;

    private GgufModelFiles(GgufFile file) {
        this.file = file;
        this.config = readConfig(file);
        this.stackedExperts = file.tensorInfo("blk.0.ffn_gate_exps.weight") != null;
        if (!stackedExperts && file.tensorInfo("blk.0.ffn_gate.0.weight") == null) {
            throw new ModelFileException(file.path(), "missing tensor blk.0.ffn_gate_exps.weight (no experts found; is this a Mixtral model?)");
        }
    }

    static GgufModelFiles open(Path path) {
        GgufFile file = GgufFile.open(path);
        try {
            return new GgufModelFiles(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static ModelConfig readConfig(GgufFile f) {
        if (!f.has("general.architecture")) {
            throw new ModelFileException(f.path(), "missing metadata 'general.architecture' (not a model file?)");
        }
        String arch = f.getString("general.architecture");
        if (!arch.equals("llama") && !arch.equals("mixtral")) {
            throw new ModelFileException(f.path(), "architecture '" + arch + "' is not supported (Mixtral files say 'llama' with expert counts)");
        }
        String p = arch + ".";
        if (!f.has(p + "expert_count") || f.getInt(p + "expert_count") < 2) {
            throw new ModelFileException(f.path(), "'" + p + "expert_count' is missing or < 2: a dense Llama model, not a Mixtral mixture of experts");
        }
        int dim = f.getInt(p + "embedding_length");
        int heads = f.getInt(p + "attention.head_count");
        int kvHeads = f.has(p + "attention.head_count_kv") ? f.getInt(p + "attention.head_count_kv") : heads;
        int headDim = f.has(p + "rope.dimension_count") ? f.getInt(p + "rope.dimension_count") : dim / heads;
        var embd = f.requireTensor("token_embd.weight");
        int vocab = f.has(p + "vocab_size") ? f.getInt(p + "vocab_size") : Math.toIntExact(embd.shape()[1]);
        String name = f.has("general.name") ? f.getString("general.name") : f.path().getFileName().toString();
        return new ModelConfig(name, dim, f.getInt(p + "block_count"), heads, kvHeads, headDim,
                f.getInt(p + "feed_forward_length"), f.getInt(p + "expert_count"), f.getInt(p + "expert_used_count"),
                vocab, f.getInt(p + "context_length"),
                f.has(p + "rope.freq_base") ? f.getFloat(p + "rope.freq_base") : 10000f,
                f.has(p + "attention.layer_norm_rms_epsilon") ? f.getFloat(p + "attention.layer_norm_rms_epsilon") : 1e-5f,
                ModelConfig.RopeLayout.ADJACENT_PAIRS);
    }

    @Override public Path path() { return file.path(); }
    @Override public String format() { return "gguf v" + file.version(); }
    @Override public ModelConfig config() { return config; }

    @Override
    public Optional<Vocabulary> vocabulary() {
        return file.has("tokenizer.ggml.tokens") ? Optional.of(Vocabulary.fromGguf(file)) : Optional.empty();
    }

    @Override
    public DenseWeights loadDense() {
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < config.layers(); l++) {
            String b = "blk." + l + ".";
            layers.add(new LayerWeights(
                    vector(b + "attn_norm.weight", config.dim()),
                    matrix(b + "attn_q.weight", config.qDim(), config.dim()),
                    matrix(b + "attn_k.weight", config.kvDim(), config.dim()),
                    matrix(b + "attn_v.weight", config.kvDim(), config.dim()),
                    matrix(b + "attn_output.weight", config.dim(), config.qDim()),
                    vector(b + "ffn_norm.weight", config.dim()),
                    matrix(b + "ffn_gate_inp.weight", config.experts(), config.dim())));
        }
        WeightMatrix embedding = matrix("token_embd.weight", config.vocab(), config.dim());
        // Files with tied embeddings have no output.weight; llama.cpp then reuses token_embd.
        WeightMatrix output = file.tensorInfo("output.weight") != null
                ? matrix("output.weight", config.vocab(), config.dim()) : embedding;
        return new DenseWeights(embedding, List.copyOf(layers), vector("output_norm.weight", config.dim()), output);
    }

    @Override
    public ExpertWeights loadExpert(int layer, int expert) {
        if (expert < 0 || expert >= config.experts()) {
            throw new IllegalArgumentException("expert " + expert + " out of range 0.." + (config.experts() - 1));
        }
        String b = "blk." + layer + ".";
        return new ExpertWeights(
                expertMatrix(b, "ffn_gate", expert, config.hidden(), config.dim()),
                expertMatrix(b, "ffn_up", expert, config.hidden(), config.dim()),
                expertMatrix(b, "ffn_down", expert, config.dim(), config.hidden()));
    }

    private WeightMatrix expertMatrix(String prefix, String kind, int expert, int rows, int cols) {
        if (!stackedExperts) return matrix(prefix + kind + "." + expert + ".weight", rows, cols);
        String name = prefix + kind + "_exps.weight";
        var info = file.requireTensor(name);
        checkShape(name, info.shape(), cols, rows, config.experts());
        return new WeightMatrix(name + "[" + expert + "]", info.type(), rows, cols, file.mapSlices(name, expert, 1));
    }

    private WeightMatrix matrix(String name, int rows, int cols) {
        var info = file.requireTensor(name);
        checkShape(name, info.shape(), cols, rows);
        return WeightMatrix.of(file.tensor(name));
    }

    private float[] vector(String name, int n) {
        var info = file.requireTensor(name);
        checkShape(name, info.shape(), n);
        return Vectors.toFloats(file.tensor(name));
    }

    private void checkShape(String name, long[] actual, long... expected) {
        if (!java.util.Arrays.equals(actual, expected)) {
            throw new ModelFileException(file.path(), "tensor " + name + " has shape " + java.util.Arrays.toString(actual)
                    + ", expected " + java.util.Arrays.toString(expected) + " for " + config.describe());
        }
    }

    @Override
    public String fingerprint() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(config.describe().getBytes());
            for (var t : file.tensorInfos()) {
                sha.update((t.name() + ":" + t.typeId() + ":" + java.util.Arrays.toString(t.shape()) + ";").getBytes());
                if (t.type() != null) sha.update(file.peek(t.name(), 64));
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public long mappedBytes() { return file.mappedBytes(); }

    @Override
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, GgufValue> e : file.metadata().entrySet()) {
            m.put(e.getKey(), e.getValue().display());
        }
        return m;
    }

    @Override
    public List<TensorEntry> tensors() {
        return file.tensorInfos().stream()
                .map(t -> new TensorEntry(t.name(), t.type() == null ? "unsupported type " + t.typeId() : t.type().name(),
                        t.shape(), t.byteSize()))
                .toList();
    }

    @Override public void close() { file.close(); }
}
