package dev.mixtral.cli;

import dev.mixtral.model.tokenizer.Tokenizer;
import dev.mixtral.model.weights.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Show the token ids of a text.")
final class TokenizeCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--text", required = true, paramLabel = "TEXT") String text;
    @Option(names = "--no-bos", description = "Do not prepend the beginning-of-sequence token.") boolean noBos;
    @Option(names = "--json", description = "Print {\"ids\":[…]} only.") boolean json;

    @Override
    public Integer call() {
        // Only the vocabulary is needed: no weights are mapped.
        try (ModelFiles files = ModelFiles.open(model.modelPath())) {
            Tokenizer tokenizer = new Tokenizer(files.vocabulary().orElseThrow(() ->
                    new UserException(files.path() + ": has no tokenizer (no tokenizer.ggml.* metadata / tokenizer.json)")));
            int[] ids = tokenizer.encode(text, !noBos);
            if (json) {
                Json.print(Map.of("ids", ids));
            } else {
                for (int id : ids) System.out.printf("%6d  %s%n", id, tokenizer.vocabulary().tokens()[id]);
            }
            return 0;
        }
    }
}
