package dev.mixtral.model;

import dev.mixtral.model.forward.ExpertBackend;
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
    private final ExpertBackend experts;

    private MixtralModel(ModelFiles files, Transformer transformer, Tokenizer tokenizer, ExpertBackend experts) {
        this.files = files;
        this.transformer = transformer;
        this.tokenizer = tokenizer;
        this.experts = experts;
    }

    /** Everything in this process: dense weights and all experts, memory-mapped. */
    public static MixtralModel local(Path path) {
        return open(path, LocalExperts::loadAll);
    }

    /** Dense weights here, experts in this process computed by the executor {@code experts} makes of the files. */
    public static MixtralModel open(Path path, Function<ModelFiles, ExpertExecutor> experts) {
        return openWith(path, files -> ExpertBackend.inProcess(experts.apply(files)));
    }

    /** Dense weights here, experts wherever the backend {@code experts} starts puts them; the model owns the backend. */
    public static MixtralModel openWith(Path path, Function<ModelFiles, ExpertBackend> experts) {
        ModelFiles files = ModelFiles.open(path);
        try {
            Tokenizer tokenizer = files.vocabulary().map(Tokenizer::new).orElse(null);
            var dense = files.loadDense(); // first: the experts may take long (a cluster to wait for)
            ExpertBackend backend = experts.apply(files);
            Transformer transformer = new Transformer(files.config(), dense, backend.executor());
            return new MixtralModel(files, transformer, tokenizer, backend);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    public ModelFiles files() { return files; }
    public ModelConfig config() { return files.config(); }
    public Transformer transformer() { return transformer; }
    public ExpertBackend experts() { return experts; }

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
            experts.close();
        } finally {
            files.close();
        }
    }
}
