package dev.mixtral.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.model.tokenizer.ChatTemplate;

import java.util.ArrayList;
import java.util.List;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} body. Every field is checked
 * with a message naming it; fields OpenAI clients send that do not change the output are ignored.
 */
record CompletionRequest(boolean chat, String model, String prompt, int[] promptIds, List<ChatTemplate.Message> messages,
                         Integer maxTokens, float temperature, float topP, int topK, Long seed, List<String> stop,
                         boolean stream, boolean includeUsage) {

    static CompletionRequest parse(JsonNode body, boolean chat) {
        if (body == null || !body.isObject()) throw ApiException.badRequest(null, "the request body must be a JSON object");
        String model = optionalString(body, "model");
        String prompt = null;
        int[] promptIds = null;
        List<ChatTemplate.Message> messages = null;
        if (chat) {
            messages = messages(body.get("messages"));
        } else {
            JsonNode p = body.get("prompt");
            if (p == null || p.isNull()) throw ApiException.badRequest("prompt", "'prompt' is required");
            if (p.isTextual()) {
                prompt = p.asText();
            } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
                prompt = p.get(0).asText();
            } else if (p.isArray() && !p.isEmpty() && allInts(p)) {
                promptIds = new int[p.size()];
                for (int i = 0; i < promptIds.length; i++) promptIds[i] = p.get(i).asInt();
            } else {
                throw ApiException.badRequest("prompt", "'prompt' must be a string, an array of one string, or an array of token ids");
            }
        }
        Integer maxTokens = optionalInt(body, chat && body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens");
        Integer n = optionalInt(body, "n");
        if (n != null && n != 1) throw ApiException.badRequest("n", "only n=1 is supported, got " + n);
        JsonNode so = body.get("stream_options");
        boolean includeUsage = so != null && so.isObject() && so.path("include_usage").asBoolean(false);
        return of(chat, model, prompt, promptIds, messages, maxTokens, optionalFloat(body, "temperature"), optionalFloat(body, "top_p"),
                optionalInt(body, "top_k"), body.hasNonNull("seed") ? requireLong(body, "seed") : null, stops(body.get("stop")),
                optionalBool(body, "stream"), includeUsage);
    }

    /**
     * The one place where the generation parameters of both APIs (HTTP and gRPC) get their defaults and
     * checks, OpenAI's: a completion makes 16 tokens unless told, a chat reply up to the context; temperature
     * 1; top_p 1; top_k 0 or -1 for no limit. A null argument means the client did not send the field.
     */
    static CompletionRequest of(boolean chat, String model, String prompt, int[] promptIds, List<ChatTemplate.Message> messages,
                                Integer maxTokens, Float temperature, Float topP, Integer topK, Long seed, List<String> stop,
                                boolean stream, boolean includeUsage) {
        if (maxTokens != null && maxTokens <= 0) throw ApiException.badRequest("max_tokens", "'max_tokens' must be a positive integer, got " + maxTokens);
        if (maxTokens == null && !chat) maxTokens = 16; // OpenAI's default for completions
        float t = temperature != null ? temperature : 1f;
        if (!(t >= 0 && t <= 2)) throw ApiException.badRequest("temperature", "'temperature' must be between 0 and 2, got " + t);
        float p = topP != null ? topP : 1f;
        if (!(p > 0 && p <= 1)) throw ApiException.badRequest("top_p", "'top_p' must be in (0, 1], got " + p);
        if (topK != null && topK < -1) throw ApiException.badRequest("top_k", "'top_k' must be >= 0 (or -1 for no limit), got " + topK);
        return new CompletionRequest(chat, model, prompt, promptIds, messages, maxTokens, t, p,
                topK == null || topK < 0 ? 0 : topK, seed, stop, stream, includeUsage);
    }

    SamplingParams sampling() {
        return new SamplingParams(temperature, topK, topP, seed != null ? seed : System.nanoTime());
    }

    private static List<ChatTemplate.Message> messages(JsonNode m) {
        if (m == null || m.isNull()) throw ApiException.badRequest("messages", "'messages' is required");
        if (!m.isArray()) throw ApiException.badRequest("messages", "'messages' must be an array");
        if (m.isEmpty()) throw ApiException.badRequest("messages", "'messages' must not be empty");
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
            JsonNode msg = m.get(i);
            String where = "messages[" + i + "]";
            if (!msg.isObject()) throw ApiException.badRequest(where, "'" + where + "' must be an object with 'role' and 'content'");
            JsonNode role = msg.get("role");
            if (role == null || !role.isTextual()) throw ApiException.badRequest(where + ".role", "'" + where + ".role' must be a string");
            out.add(new ChatTemplate.Message(role.asText(), content(msg.get("content"), where)));
        }
        return out;
    }

    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) throw ApiException.badRequest(where + ".content", "'" + where + ".content' is required");
        if (c.isTextual()) return c.asText();
        if (c.isArray()) { // [{"type": "text", "text": "…"}, …]
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.badRequest(where + ".content", "only text content parts are supported in '" + where + ".content'");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.badRequest(where + ".content", "'" + where + ".content' must be a string or an array of text parts");
    }

    private static List<String> stops(JsonNode s) {
        if (s == null || s.isNull()) return List.of();
        if (s.isTextual()) return s.asText().isEmpty() ? List.of() : List.of(s.asText());
        if (s.isArray() && s.size() <= 4) {
            List<String> out = new ArrayList<>();
            for (JsonNode x : s) {
                if (!x.isTextual()) throw ApiException.badRequest("stop", "'stop' must be a string or an array of up to 4 strings");
                if (!x.asText().isEmpty()) out.add(x.asText());
            }
            return out;
        }
        throw ApiException.badRequest("stop", "'stop' must be a string or an array of up to 4 strings");
    }

    private static boolean allInts(JsonNode a) {
        for (JsonNode x : a) if (!x.canConvertToInt() || !x.isIntegralNumber()) return false;
        return true;
    }

    private static String optionalString(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiException.badRequest(field, "'" + field + "' must be a string");
        return v.asText();
    }

    private static Integer optionalInt(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiException.badRequest(field, "'" + field + "' must be an integer, got " + v);
        return v.asInt();
    }

    private static long requireLong(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.badRequest(field, "'" + field + "' must be an integer, got " + v);
        return v.asLong();
    }

    private static Float optionalFloat(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw ApiException.badRequest(field, "'" + field + "' must be a number, got " + v);
        return v.floatValue();
    }

    private static boolean optionalBool(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw ApiException.badRequest(field, "'" + field + "' must be true or false, got " + v);
        return v.asBoolean();
    }
}
