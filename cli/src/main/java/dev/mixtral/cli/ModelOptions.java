package dev.mixtral.cli;

import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.kernel.Parallel;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** Options shared by the commands that run a model. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file or a Hugging Face checkpoint directory. Default: the built-in synthetic model (${MIXTRAL_MODEL} if set).")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--kv-cache", paramLabel = "TYPE", defaultValue = "f32", description = "KV cache type: f32 (exact) or f16. Default: ${DEFAULT-VALUE}.")
    String kvCache;

    @Option(names = "--prefill-chunk", paramLabel = "N", defaultValue = "256", description = "Prompt tokens per forward step. Default: ${DEFAULT-VALUE}.")
    int prefillChunk;

    Path modelPath() {
        if (model != null) return model;
        String env = System.getenv("MIXTRAL_MODEL");
        if (env != null && !env.isBlank()) return Path.of(env);
        return BuiltinModel.ensure();
    }

    KvCache.Type kvType() {
        return switch (kvCache.toLowerCase()) {
            case "f32" -> KvCache.Type.F32;
            case "f16" -> KvCache.Type.F16;
            default -> throw new UserException("--kv-cache must be f32 or f16, got '" + kvCache + "'");
        };
    }

    MixtralModel open() {
        if (threads != null) {
            if (threads < 1) throw new UserException("--threads must be >= 1");
            Parallel.setThreads(threads);
        }
        if (prefillChunk < 1) throw new UserException("--prefill-chunk must be >= 1");
        Path path = modelPath();
        if (!Files.exists(path)) throw new UserException(path + ": no such file or directory");
        return MixtralModel.local(path);
    }
}
