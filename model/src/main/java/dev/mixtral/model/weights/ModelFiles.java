package dev.mixtral.model.weights;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.tokenizer.Vocabulary;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Mixtral model on disk, in either format, mapped lazily: opening reads only the header, and each
 * load method maps only the bytes it returns. The formats' differences (tensor names, stacked or
 * separate experts, Q/K row order) are reconciled here, so the forward pass sees one model.
 */
public interface ModelFiles extends AutoCloseable {

    /** One tensor of the file, as {@code inspect} lists it. */
    record TensorEntry(String name, String type, long[] shape, long bytes) {}

    /** Opens a {@code .gguf} file or a Hugging Face checkpoint directory. */
    static ModelFiles open(Path path) {
        if (Files.isDirectory(path)) return HuggingFaceModelFiles.open(path);
        if (!Files.exists(path)) throw new ModelFileException(path, "no such file or directory");
        return GgufModelFiles.open(path);
    }

    Path path();

    String format();

    ModelConfig config();

    /** The tokenizer's vocabulary, if the model ships one. */
    Optional<Vocabulary> vocabulary();

    DenseWeights loadDense();

    /** Maps one expert of one layer. */
    ExpertWeights loadExpert(int layer, int expert);

    /** Identifies the weights: equal for the same file, different for different weights or shapes. */
    String fingerprint();

    /** Bytes of tensor data mapped so far. */
    long mappedBytes();

    /** Header metadata, rendered for display. */
    Map<String, String> metadata();

    List<TensorEntry> tensors();

    @Override
    void close();
}
