package dev.mixtral.model.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.safetensors.SafetensorsCheckpoint;
import dev.mixtral.model.tensor.Vectors;
import dev.mixtral.model.tensor.WeightMatrix;
import dev.mixtral.model.tokenizer.Vocabulary;

import static dev.mixtral.model.weights.HuggingFaceTensorNames.NAMES;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face {@code MixtralForCausalLM} checkpoint directory: config.json, safetensors (single or
 * sharded), tokenizer.json. Q/K rows are in their original order, so RoPE rotates (i, i + headDim/2).
 */
final class HuggingFaceModelFiles extends NamedModelFiles {
    private final Path dir;
    private final JsonNode configJson;
    private final ModelConfig config;
    private final SafetensorsCheckpoint weights;

    private HuggingFaceModelFiles(Path dir, JsonNode configJson, ModelConfig config, SafetensorsCheckpoint weights) {
        super(NAMES);
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
    boolean tiedOutput() {
        return configJson.path("tie_word_embeddings").asBoolean(false) && !weights.has(NAMES.output());
    }

    @Override
    WeightMatrix matrix(String name, int rows, int cols) {
        checkShape(name, cols, rows);
        return WeightMatrix.of(weights.tensor(name));
    }

    @Override
    float[] vector(String name, int n) {
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
    List<FingerprintedTensor> fingerprintedTensors() {
        return weights.names().stream().sorted()
                .map(n -> new FingerprintedTensor(n, weights.entry(n).dtype(), weights.entry(n).shape(), weights.peek(n, HEAD_BYTES)))
                .toList();
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
