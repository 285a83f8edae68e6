package dev.mixtral.model;

import dev.mixtral.model.forward.ExpertExecutor;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.forward.Transformer;
import dev.mixtral.model.tokenizer.Tokenizer;
import dev.mixtral.model.weights.ModelFiles;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;

/**
 * A model ready to run: its files, the forward pass over its dense weights, the experts behind it
 * (in this process or elsewhere) and its tokenizer, if it ships one.
 */
public final class MixtralModel implements AutoCloseable {
    private final ModelFiles files;
    private final Transformer transformer;
    private final Tokenizer tokenizer;
    private final ExpertExecutor experts;

    private MixtralModel(ModelFiles files, Transformer transformer, Tokenizer tokenizer, ExpertExecutor experts) {
        this.files = files;
        this.transformer = transformer;
        this.tokenizer = tokenizer;
        this.experts = experts;
    }

    /** Everything in this process: dense weights and all experts, memory-mapped. */
    public static MixtralModel local(Path path) {
        return open(path, LocalExperts::loadAll);
    }

    /**
     * Dense weights here, experts wherever {@code experts} puts them. The model owns the executor: if it
     * is {@link AutoCloseable} (remote experts holding connections), closing the model closes it.
     */
    public static MixtralModel open(Path path, Function<ModelFiles, ExpertExecutor> experts) {
        ModelFiles files = ModelFiles.open(path);
        try {
            Tokenizer tokenizer = files.vocabulary().map(Tokenizer::new).orElse(null);
            var dense = files.loadDense(); // first: the experts may take long (a cluster to wait for)
            ExpertExecutor executor = experts.apply(files);
            Transformer transformer = new Transformer(files.config(), dense, executor);
            return new MixtralModel(files, transformer, tokenizer, executor);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    public ModelFiles files() { return files; }
    public ModelConfig config() { return files.config(); }
    public Transformer transformer() { return transformer; }

    public Optional<Tokenizer> tokenizerIfPresent() {
        return Optional.ofNullable(tokenizer);
    }

    /** The tokenizer, or a clear error for checkpoints that ship none (score those by token ids). */
    public Tokenizer tokenizer() {
        if (tokenizer == null) {
            throw new ModelFileException(files.path(), "has no tokenizer (no tokenizer.ggml.* metadata / tokenizer.json); pass token ids instead of text");
        }
        return tokenizer;
    }

    @Override
    public void close() {
        try {
            if (experts instanceof AutoCloseable c) c.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the expert executor: " + e.getMessage(), e);
        } finally {
            files.close();
        }
    }
}
