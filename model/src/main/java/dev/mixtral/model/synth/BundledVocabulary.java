package dev.mixtral.model.synth;

import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.gguf.GgufValue;
import dev.mixtral.model.tokenizer.Vocabulary;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The real 32000-token Llama/Mistral SentencePiece vocabulary, shipped as the resource
 * {@value #RESOURCE} (a vocabulary-only GGUF), and the Mistral Instruct chat template. Every
 * synthetic model carries them, so the product needs no outside files.
 */
public final class BundledVocabulary {
    public static final String RESOURCE = "/dev/mixtral/model/vocab/llama-spm-32000.gguf";

    /** Mistral Instruct v0.1's chat template, as in the golden models' {@code tokenizer.chat_template}. */
    public static final String CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    private BundledVocabulary() {}

    private static final class Holder {
        static final Map<String, GgufValue> METADATA = load();
    }

    /**
     * The {@code tokenizer.ggml.*} entries of the bundled GGUF, in file order and with their stored
     * types, followed by {@code tokenizer.chat_template}. The arrays are shared: do not modify them.
     */
    public static Map<String, GgufValue> ggufMetadata() {
        return Holder.METADATA;
    }

    /** The vocabulary as a {@link Vocabulary} (tokens, scores, types, special ids). */
    public static Vocabulary vocabulary() {
        Map<String, GgufValue> m = ggufMetadata();
        long[] types = (long[]) m.get("tokenizer.ggml.token_type").value();
        int[] t = new int[types.length];
        for (int i = 0; i < t.length; i++) t[i] = (int) types[i];
        GgufValue addSpace = m.get("tokenizer.ggml.add_space_prefix");
        return new Vocabulary(
                ((String[]) m.get("tokenizer.ggml.tokens").value()).clone(),
                ((float[]) m.get("tokenizer.ggml.scores").value()).clone(),
                t,
                id(m, "tokenizer.ggml.bos_token_id"),
                id(m, "tokenizer.ggml.eos_token_id"),
                id(m, "tokenizer.ggml.unknown_token_id"),
                (Boolean) m.get("tokenizer.ggml.add_bos_token").value(),
                addSpace == null || (Boolean) addSpace.value());
    }

    private static int id(Map<String, GgufValue> m, String key) {
        return Math.toIntExact((Long) m.get(key).value());
    }

    private static Map<String, GgufValue> load() {
        try (InputStream in = BundledVocabulary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("resource " + RESOURCE + " is missing from the build");
            Path tmp = Files.createTempFile("llama-spm-vocab", ".gguf");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Map<String, GgufValue> out = new LinkedHashMap<>();
                try (GgufFile f = GgufFile.open(tmp)) {
                    f.metadata().forEach((k, v) -> {
                        if (k.startsWith("tokenizer.")) out.put(k, v);
                    });
                }
                out.put("tokenizer.chat_template", GgufValue.string(CHAT_TEMPLATE));
                return Collections.unmodifiableMap(out);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundled vocabulary " + RESOURCE, e);
        }
    }
}
