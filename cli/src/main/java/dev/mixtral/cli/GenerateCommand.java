package dev.mixtral.cli;

import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.generate.InvalidRequestException;
import dev.mixtral.model.generate.StopAwareText;
import dev.mixtral.model.generate.StopPolicy;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.model.tokenizer.ChatTemplate;
import dev.mixtral.model.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a continuation of a prompt (text streams to stdout; statistics go to stderr).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT") String prompt;
    @Option(names = "--chat", description = "Wrap the prompt in the Mixtral instruct format ([INST] … [/INST]).") boolean chat;
    @Option(names = "--max-tokens", defaultValue = "128", paramLabel = "N") int maxTokens;
    @Option(names = "--temperature", defaultValue = "0.7", paramLabel = "T", description = "0 = greedy. Default: ${DEFAULT-VALUE}.") float temperature;
    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "0 = no limit.") int topK;
    @Option(names = "--top-p", defaultValue = "1.0", paramLabel = "P") float topP;
    @Option(names = "--seed", paramLabel = "S", description = "Sampling seed (default: random).") Long seed;
    @Option(names = "--ignore-eos", description = "Keep generating past the end-of-sequence token.") boolean ignoreEos;
    @Option(names = "--json", description = "Print {\"prompt_tokens\":[…],\"tokens\":[…],\"text\":\"…\"} only.") boolean json;

    @Override
    public Integer call() {
        if (maxTokens < 1) throw new UserException("--max-tokens must be >= 1, got " + maxTokens);
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, seed != null ? seed : System.nanoTime());
        ModelSettings settings = model.settings();
        try (MixtralModel m = settings.open()) {
            Tokenizer tokenizer = m.tokenizer();
            int[] promptIds = chat
                    ? ChatTemplate.encode(tokenizer, List.of(new ChatTemplate.Message("user", prompt)))
                    : tokenizer.encode(prompt, true);
            Generator generator = new Generator(m.transformer(), settings.kvType(), settings.prefillChunk());
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            StopPolicy stop = ignoreEos ? StopPolicy.NONE : StopPolicy.endOfSequence(tokenizer.vocabulary().eos(), List.of());
            // The continuation keeps its leading space: it continues the prompt's text.
            StopAwareText stream = new StopAwareText(tokenizer.newDecoder(false), stop);
            StringBuilder text = new StringBuilder();
            long start = System.nanoTime();
            long[] firstToken = {0};
            int[] tokens;
            try {
                tokens = generator.generate(new GenerationRequest(promptIds, maxTokens, sampling, stop), token -> {
                    if (firstToken[0] == 0) firstToken[0] = System.nanoTime();
                    String piece = stream.accept(token);
                    text.append(piece);
                    if (!json) out.print(piece);
                });
            } catch (InvalidRequestException e) {
                throw new UserException(e.getMessage());
            }
            long end = System.nanoTime();
            if (firstToken[0] == 0) firstToken[0] = end; // the first token sampled was a stop token
            String rest = stream.finish();
            text.append(rest);
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("prompt_tokens", promptIds);
                doc.put("tokens", tokens);
                doc.put("text", text.toString());
                Json.print(doc);
            } else {
                out.print(rest);
                out.println();
            }
            double prefillS = (firstToken[0] - start) / 1e9, decodeS = (end - firstToken[0]) / 1e9;
            System.err.printf("[%d prompt tokens in %.2fs (%.1f tok/s), %d generated in %.2fs (%.1f tok/s)]%n",
                    promptIds.length, prefillS, promptIds.length / prefillS, tokens.length, decodeS,
                    tokens.length > 1 ? (tokens.length - 1) / decodeS : 0.0);
            if (m.experts().statistics() != null) System.err.println(m.experts().statistics());
            return 0;
        }
    }
}
