package dev.mixtral.model.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.safetensors.SafetensorsCheckpoint;
import dev.mixtral.model.tensor.Vectors;
import dev.mixtral.model.tensor.WeightMatrix;
import dev.mixtral.model.tokenizer.Vocabulary;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face {@code MixtralForCausalLM} checkpoint directory: config.json, safetensors (single or
 * sharded), tokenizer.json. Q/K rows are in their original order, so RoPE rotates (i, i + headDim/2).
 */
final class HuggingFaceModelFiles implements ModelFiles {
    private final Path dir;
    private final JsonNode configJson;
    private final ModelConfig config;
    private final SafetensorsCheckpoint weights;

    private HuggingFaceModelFiles(Path dir, JsonNode configJson, ModelConfig config, SafetensorsCheckpoint weights) {
        this.dir = dir;
        this.configJson = configJson;
        this.config = config;
        this.weights = weights;
    }

    static HuggingFaceModelFiles open(Path dir) {
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new ModelFileException(dir, "no config.json: not a Hugging Face checkpoint directory");
        }
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(configFile.toFile());
        } catch (IOException e) {
            throw new ModelFileException(configFile, "is not valid JSON: " + e.getMessage());
        }
        ModelConfig config = readConfig(configFile, json);
        SafetensorsCheckpoint weights = SafetensorsCheckpoint.open(dir);
        return new HuggingFaceModelFiles(dir, json, config, weights);
    }

    private static ModelConfig readConfig(Path file, JsonNode j) {
        String type = j.path("model_type").asText("");
        boolean mixtralArch = false;
        for (JsonNode a : j.path("architectures")) mixtralArch |= a.asText().equals("MixtralForCausalLM");
        if (!type.equals("mixtral") && !mixtralArch) {
            throw new ModelFileException(file, "model_type '" + type + "' is not supported (expected mixtral / MixtralForCausalLM)");
        }
        int dim = required(file, j, "hidden_size");
        int heads = required(file, j, "num_attention_heads");
        int headDim = j.hasNonNull("head_dim") ? j.get("head_dim").asInt() : dim / heads;
        return new ModelConfig(file.getParent().getFileName().toString(), dim, required(file, j, "num_hidden_layers"),
                heads, j.path("num_key_value_heads").asInt(heads), headDim, required(file, j, "intermediate_size"),
                required(file, j, "num_local_experts"), required(file, j, "num_experts_per_tok"), required(file, j, "vocab_size"),
                j.path("max_position_embeddings").asInt(32768), (float) j.path("rope_theta").asDouble(1e6),
                (float) j.path("rms_norm_eps").asDouble(1e-5), ModelConfig.RopeLayout.HALVES);
    }

    private static int required(Path file, JsonNode j, String key) {
        if (!j.hasNonNull(key) || !j.get(key).canConvertToInt()) {
            throw new ModelFileException(file, "missing or non-integer '" + key + "'");
        }
        return j.get(key).asInt();
    }

    @Override public Path path() { return dir; }
    @Override public String format() { return "huggingface safetensors (" + weights.files().size() + " file" + (weights.files().size() == 1 ? "" : "s") + ")"; }
    @Override public ModelConfig config() { return config; }

    @Override
    public Optional<Vocabulary> vocabulary() {
        Path tokenizer = dir.resolve("tokenizer.json");
        return Files.isRegularFile(tokenizer) ? Optional.of(Vocabulary.fromTokenizerJson(tokenizer)) : Optional.empty();
    }

    @Override
    public DenseWeights loadDense() {
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < config.layers(); l++) {
            String p = "model.layers." + l + ".";
            layers.add(new LayerWeights(
                    vector(p + "input_layernorm.weight", config.dim()),
                    matrix(p + "self_attn.q_proj.weight", config.qDim(), config.dim()),
                    matrix(p + "self_attn.k_proj.weight", config.kvDim(), config.dim()),
                    matrix(p + "self_attn.v_proj.weight", config.kvDim(), config.dim()),
                    matrix(p + "self_attn.o_proj.weight", config.dim(), config.qDim()),
                    vector(p + "post_attention_layernorm.weight", config.dim()),
                    matrix(p + "block_sparse_moe.gate.weight", config.experts(), config.dim())));
        }
        WeightMatrix embedding = matrix("model.embed_tokens.weight", config.vocab(), config.dim());
        boolean tied = configJson.path("tie_word_embeddings").asBoolean(false) && !weights.has("lm_head.weight");
        WeightMatrix output = tied ? embedding : matrix("lm_head.weight", config.vocab(), config.dim());
        return new DenseWeights(embedding, List.copyOf(layers), vector("model.norm.weight", config.dim()), output);
    }

    @Override
    public ExpertWeights loadExpert(int layer, int expert) {
        if (expert < 0 || expert >= config.experts()) {
            throw new IllegalArgumentException("expert " + expert + " out of range 0.." + (config.experts() - 1));
        }
        String p = "model.layers." + layer + ".block_sparse_moe.experts." + expert + ".";
        return new ExpertWeights(
                matrix(p + "w1.weight", config.hidden(), config.dim()),
                matrix(p + "w3.weight", config.hidden(), config.dim()),
                matrix(p + "w2.weight", config.dim(), config.hidden()));
    }

    private WeightMatrix matrix(String name, int rows, int cols) {
        checkShape(name, cols, rows);
        return WeightMatrix.of(weights.tensor(name));
    }

    private float[] vector(String name, int n) {
        checkShape(name, n);
        return Vectors.toFloats(weights.tensor(name));
    }

    private void checkShape(String name, long... expected) {
        long[] actual = weights.entry(name).shape();
        if (!Arrays.equals(actual, expected)) {
            throw new ModelFileException(dir, "tensor " + name + " has shape (ggml order) " + Arrays.toString(actual)
                    + ", expected " + Arrays.toString(expected) + " for " + config.describe());
        }
    }

    @Override
    public String fingerprint() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(config.describe().getBytes());
            for (String name : weights.names().stream().sorted().toList()) {
                var e = weights.entry(name);
                sha.update((name + ":" + e.dtype() + ":" + Arrays.toString(e.shape()) + ";").getBytes());
                sha.update(weights.peek(name, 64));
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public long mappedBytes() { return weights.mappedBytes(); }

    @Override
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        configJson.properties().forEach(e -> m.put("config." + e.getKey(), e.getValue().toString()));
        return m;
    }

    @Override
    public List<TensorEntry> tensors() {
        return weights.names().stream().map(n -> {
            var e = weights.entry(n);
            return new TensorEntry(n, e.dtype(), e.shape(), e.byteSize());
        }).toList();
    }

    @Override public void close() { weights.close(); }
}
