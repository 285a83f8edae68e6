package dev.mixtral.model.weights;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.gguf.GgufValue;
import dev.mixtral.model.tensor.Tensor;
import dev.mixtral.model.tensor.Vectors;
import dev.mixtral.model.tensor.WeightMatrix;
import dev.mixtral.model.tokenizer.Vocabulary;

import static dev.mixtral.model.weights.GgufTensorNames.NAMES;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Mixtral GGUF as llama.cpp writes it: {@code general.architecture = llama} with expert counts,
 * experts stacked in {@code blk.N.ffn_{gate,up,down}_exps.weight} (or, in older files, one tensor per
 * expert {@code blk.N.ffn_gate.E.weight}), Q/K rows permuted for adjacent-pair RoPE.
 */
final class GgufModelFiles extends NamedModelFiles {
    private final GgufFile file;
    private final ModelConfig config;
    private final boolean stackedExperts;

    private GgufModelFiles(GgufFile file) {
        super(NAMES);
        this.file = file;
        this.config = readConfig(file);
        this.stackedExperts = file.tensorInfo(NAMES.stackedExperts(0, ExpertProjection.GATE)) != null;
        if (!stackedExperts && file.tensorInfo(NAMES.expert(0, 0, ExpertProjection.GATE)) == null) {
            throw new ModelFileException(file.path(), "missing tensor " + NAMES.stackedExperts(0, ExpertProjection.GATE)
                    + " (no experts found; is this a Mixtral model?)");
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
        var embd = f.requireTensor(NAMES.embedding());
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
    boolean tiedOutput() {
        return file.tensorInfo(NAMES.output()) == null; // llama.cpp then reuses token_embd
    }

    @Override
    WeightMatrix expertMatrix(int layer, int expert, ExpertProjection projection, int rows, int cols) {
        if (!stackedExperts) return super.expertMatrix(layer, expert, projection, rows, cols);
        String name = NAMES.stackedExperts(layer, projection);
        var info = file.requireTensor(name);
        checkShape(name, info.shape(), cols, rows, config.experts());
        return new WeightMatrix(name + "[" + expert + "]", info.type(), rows, cols, file.mapSlices(name, expert, 1));
    }

    @Override
    WeightMatrix matrix(String name, int rows, int cols) {
        var info = file.requireTensor(name);
        checkShape(name, info.shape(), cols, rows);
        return WeightMatrix.of(file.tensor(name));
    }

    @Override
    float[] vector(String name, int n) {
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
    List<FingerprintedTensor> fingerprintedTensors() {
        return file.tensorInfos().stream()
                .map(t -> new FingerprintedTensor(t.name(), Integer.toString(t.typeId()), t.shape(),
                        t.type() != null ? file.peek(t.name(), HEAD_BYTES) : null))
                .toList();
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
