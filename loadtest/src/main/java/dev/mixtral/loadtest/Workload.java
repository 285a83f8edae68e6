package dev.mixtral.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Where the requests' contents come from: synthetic prompts of given lengths, or a JSONL dataset. */
interface Workload {
    /** The request with this index (deterministic for a given seed, so reruns send the same prompts). */
    RequestSpec spec(int index);

    /**
     * Prompts of random common English words: each is one token in the BPE and SentencePiece vocabularies
     * of the usual models, so a prompt of n words is close to n tokens anywhere without a tokenizer here.
     * The server's {@code usage.prompt_tokens} gives the exact count per request.
     */
    static Workload synthetic(LengthDistribution input, LengthDistribution output, long seed) {
        return index -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + index);
            int inputLen = input.sample(random);
            int outputLen = output.sample(random);
            StringBuilder sb = new StringBuilder(inputLen * 6);
            for (int i = 0; i < inputLen; i++) {
                if (i > 0) sb.append(' ');
                sb.append(WORDS[random.nextInt(WORDS.length)]);
            }
            return new RequestSpec(index, sb.toString(), null, outputLen, inputLen, random.nextLong() & Long.MAX_VALUE);
        };
    }

    /**
     * A JSONL file, one request per line: {@code {"prompt": "…"}} or {@code {"messages": [{"role": …, "content": …}]}},
     * optionally {@code "max_tokens"} (or {@code "output_len"}); lines without one use {@code output}. Requests
     * beyond the file's length start over from its first line.
     */
    static Workload dataset(Path file, LengthDistribution output, long seed) {
        List<Entry> entries = readEntries(file);
        return index -> {
            Entry e = entries.get(index % entries.size());
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + index);
            int outputLen = e.maxTokens() > 0 ? e.maxTokens() : output.sample(random);
            return new RequestSpec(index, e.prompt(), e.messages(), outputLen, e.approxInputTokens(), random.nextLong() & Long.MAX_VALUE);
        };
    }

    record Entry(String prompt, List<RequestSpec.Message> messages, int maxTokens, int approxInputTokens) {}

    static List<Entry> readEntries(Path file) {
        ObjectMapper json = new ObjectMapper();
        List<Entry> entries = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (line.isBlank()) continue;
                JsonNode node;
                try {
                    node = json.readTree(line);
                } catch (IOException e) {
                    throw new IllegalArgumentException(file + " line " + n + ": not JSON: " + e.getMessage());
                }
                entries.add(entry(node, file + " line " + n));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (entries.isEmpty()) throw new IllegalArgumentException(file + ": no requests in it (one JSON object per line)");
        return entries;
    }

    static Entry entry(JsonNode node, String where) {
        if (!node.isObject()) throw new IllegalArgumentException(where + ": each line must be a JSON object");
        int maxTokens = node.path("max_tokens").asInt(node.path("output_len").asInt(node.path("output_length").asInt(0)));
        if (node.path("prompt").isTextual()) {
            String prompt = node.get("prompt").asText();
            return new Entry(prompt, null, maxTokens, approxTokens(prompt));
        }
        if (node.path("messages").isArray() && !node.get("messages").isEmpty()) {
            List<RequestSpec.Message> messages = new ArrayList<>();
            int tokens = 0;
            for (JsonNode m : node.get("messages")) {
                if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                    throw new IllegalArgumentException(where + ": each message needs string 'role' and 'content'");
                }
                messages.add(new RequestSpec.Message(m.get("role").asText(), m.get("content").asText()));
                tokens += approxTokens(m.get("content").asText());
            }
            return new Entry(null, List.copyOf(messages), maxTokens, tokens);
        }
        throw new IllegalArgumentException(where + ": needs a string 'prompt' or a non-empty 'messages' array");
    }

    /** A rough count for reports when the server sends no usage: about 4 characters per token in English text. */
    static int approxTokens(String text) {
        return Math.max(1, (text.length() + 3) / 4);
    }

    String[] WORDS = ("the of and to in is that it was for on are as with his they at be this from have or by one had not but "
            + "what all were when we there can an your which their said if do will each about how up out them then she many some "
            + "so these would other into has more her two like him see time could no make than first been its who now people my "
            + "made over did down only way find use may water long little very after words called just where most know get "
            + "through back much before go good new write our used me man too any day same right look think also around another "
            + "came come work three word must because does part even place well such here take why things help put years different "
            + "away again off went old number great tell men say small every found still between name should home big give air line "
            + "set own under read last never us left end along while might next sound below saw something thought both few those "
            + "always looked show large often together asked house world going want school important until form food keep children "
            + "feet land side without boy once animals life enough took sometimes four head above kind began almost live page got "
            + "earth need far hand high year mother light parts country father let night following picture being study second eyes "
            + "story city tree cross farm hard start hear").split(" ");
}
