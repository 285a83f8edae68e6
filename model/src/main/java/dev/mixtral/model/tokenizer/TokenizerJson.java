package dev.mixtral.model.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mixtral.model.ModelFileException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Hugging Face {@code tokenizer.json} for SentencePiece vocabularies, read and written.
 *
 * <p>Mistral and Mixtral checkpoints ship their SentencePiece vocabulary converted to a BPE model: the
 * {@code vocab} map, {@code merges} listing every split of every piece into two pieces (ordered by the
 * piece's SentencePiece score, best first), byte fallback, and a normalizer that prepends '▁' and turns
 * spaces into '▁'. Reading turns merge ranks back into scores, score(piece) = -(rank of the first merge
 * that makes it), so the {@link Tokenizer}'s score-ordered merging picks the pair HF's rank-ordered BPE
 * picks. That is exact when, as for every such conversion, all splits of a piece are listed; a native
 * BPE vocabulary whose merges omit splits could tokenize differently. Pieces no merge makes (single
 * characters) rank below all others, specials and byte tokens get score 0, as in GGUF.
 *
 * <p>Writing goes the other way and produces a file HF's {@code tokenizers} loads, with merges derived
 * from the vocabulary: every split of a non-special, non-byte piece of two or more characters into two
 * vocabulary pieces, ordered by the piece's score (best first), then piece id, then the halves' ids.
 */
public final class TokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");
    private static final String SPACE_MARK = "▁";

    private TokenizerJson() {}

    // ---- reading ---------------------------------------------------------------------------------

    /** Reads {@code tokenizer.json}, and {@code tokenizer_config.json} beside it when there is one. */
    public static Vocabulary read(Path file) {
        JsonNode root = parse(file);
        JsonNode model = root.path("model");
        String type = model.path("type").asText("");
        if (!type.equals("BPE")) {
            throw new ModelFileException(file, "tokenizer model type is '" + type + "'; only BPE models converted from"
                    + " SentencePiece (as Llama, Mistral and Mixtral ship) are supported");
        }
        boolean spacePrefix = spacePrefix(file, root);

        Map<Integer, String> byId = new HashMap<>();
        Map<Integer, Integer> addedTypes = new HashMap<>();
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject() || vocab.isEmpty()) throw new ModelFileException(file, "model.vocab is missing or empty");
        for (Map.Entry<String, JsonNode> e : vocab.properties()) {
            putToken(file, byId, e.getValue().asInt(-1), e.getKey());
        }
        for (JsonNode added : root.path("added_tokens")) {
            int id = added.path("id").asInt(-1);
            putToken(file, byId, id, added.path("content").asText(""));
            addedTypes.put(id, added.path("special").asBoolean(false)
                    ? Vocabulary.TYPE_CONTROL : Vocabulary.TYPE_USER_DEFINED);
        }
        // Ids run 0..n-1 without gaps, so the largest is below the count. Checked before sizing an array
        // by it: then some id below the count is missing, and that is the one reported.
        int maxId = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        for (int id = 0; maxId >= byId.size() && id < byId.size(); id++) {
            if (!byId.containsKey(id)) {
                throw new ModelFileException(file, "no token has id " + id + " (ids must be 0.." + maxId + " without gaps)");
            }
        }
        String[] tokens = new String[maxId + 1];
        for (int id = 0; id < tokens.length; id++) {
            tokens[id] = byId.get(id);
            if (tokens[id] == null) throw new ModelFileException(file, "no token has id " + id + " (ids must be 0.."
                    + (tokens.length - 1) + " without gaps)");
        }
        Map<String, Integer> index = new HashMap<>(tokens.length * 2);
        for (int id = 0; id < tokens.length; id++) index.put(tokens[id], id);

        int unk = require(file, index, model.path("unk_token").asText("<unk>"), "unknown token");
        int[] types = new int[tokens.length];
        for (int id = 0; id < tokens.length; id++) {
            types[id] = addedTypes.getOrDefault(id,
                    BYTE_TOKEN.matcher(tokens[id]).matches() ? Vocabulary.TYPE_BYTE : Vocabulary.TYPE_NORMAL);
        }
        types[unk] = Vocabulary.TYPE_UNKNOWN;
        float[] scores = scoresFromMerges(file, model.path("merges"), tokens, types, index);

        JsonNode config = readConfig(file.resolveSibling("tokenizer_config.json"));
        int bos = require(file, index, tokenText(config.path("bos_token"), "<s>"), "BOS token");
        int eos = require(file, index, tokenText(config.path("eos_token"), "</s>"), "EOS token");
        boolean addBos = config.has("add_bos_token") ? config.path("add_bos_token").asBoolean()
                : addsBos(root.path("post_processor"));
        try {
            return new Vocabulary(tokens, scores, types, bos, eos, unk, addBos, spacePrefix);
        } catch (IllegalArgumentException e) {
            throw new ModelFileException(file, "bad vocabulary: " + e.getMessage(), e);
        }
    }

    private static JsonNode parse(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new ModelFileException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            if (!Files.exists(file)) throw new ModelFileException(file, "no such file");
            throw new ModelFileException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private static JsonNode readConfig(Path config) {
        if (!Files.isRegularFile(config)) return NODES.objectNode();
        return parse(config);
    }

    private static void putToken(Path file, Map<Integer, String> byId, int id, String text) {
        if (id < 0) throw new ModelFileException(file, "token '" + text + "' has no valid id");
        String old = byId.putIfAbsent(id, text);
        if (old != null && !old.equals(text)) {
            throw new ModelFileException(file, "id " + id + " is both '" + old + "' and '" + text + "'");
        }
    }

    private static int require(Path file, Map<String, Integer> index, String token, String what) {
        Integer id = index.get(token);
        if (id == null) throw new ModelFileException(file, what + " '" + token + "' is not in the vocabulary");
        return id;
    }

    /** tokenizer_config.json writes special tokens as a string or as {"content": ...}. */
    private static String tokenText(JsonNode node, String fallback) {
        if (node.isTextual()) return node.asText();
        if (node.isObject() && node.path("content").isTextual()) return node.path("content").asText();
        return fallback;
    }

    /** Without tokenizer_config.json: BOS is added when the post-processor's single template starts with a special token. */
    private static boolean addsBos(JsonNode postProcessor) {
        if (postProcessor.isMissingNode() || postProcessor.isNull()) return true; // SentencePiece's default
        JsonNode single = postProcessor.path("single");
        return single.isArray() && !single.isEmpty() && single.get(0).has("SpecialToken");
    }

    /**
     * Whether the text gets a '▁' prefix. Spaces must become '▁' by the normalizer (Prepend '▁', Replace
     * ' ' → '▁', older Mistral files) or by a Metaspace pre-tokenizer that does not split (newer ones);
     * anything else would tokenize differently from SentencePiece and is refused.
     */
    private static boolean spacePrefix(Path file, JsonNode root) {
        boolean escaped = false, prefix = false;
        for (JsonNode n : flatten(root.path("normalizer"), "normalizers")) {
            String type = n.path("type").asText();
            if (type.equals("Prepend") && n.path("prepend").asText().equals(SPACE_MARK)) {
                prefix = true;
            } else if (type.equals("Replace") && n.path("pattern").path("String").asText().equals(" ")
                    && n.path("content").asText().equals(SPACE_MARK)) {
                escaped = true;
            } else {
                throw new ModelFileException(file, "normalizer '" + type + "' is not supported (only Prepend '▁' and"
                        + " Replace ' ' with '▁', as SentencePiece-converted tokenizers use)");
            }
        }
        for (JsonNode n : flatten(root.path("pre_tokenizer"), "pretokenizers")) {
            String type = n.path("type").asText();
            if (!type.equals("Metaspace")) {
                throw new ModelFileException(file, "pre-tokenizer '" + type + "' is not supported: only SentencePiece-style"
                        + " tokenizers (spaces as '▁', no word splitting) are");
            }
            if (n.path("split").asBoolean(true)) {
                throw new ModelFileException(file, "the Metaspace pre-tokenizer splits words at spaces, which SentencePiece"
                        + " does not do; only \"split\": false is supported");
            }
            escaped = true;
            String scheme = n.path("prepend_scheme").asText(n.path("add_prefix_space").asBoolean(true) ? "always" : "never");
            prefix |= !scheme.equals("never");
        }
        if (!escaped) {
            throw new ModelFileException(file, "spaces are not turned into '▁' (no Replace normalizer or Metaspace"
                    + " pre-tokenizer): not a SentencePiece-style tokenizer");
        }
        return prefix;
    }

    private static List<JsonNode> flatten(JsonNode node, String listField) {
        List<JsonNode> out = new ArrayList<>();
        if (node.isMissingNode() || node.isNull()) return out;
        if (node.path("type").asText().equals("Sequence")) {
            for (JsonNode child : node.path(listField)) out.addAll(flatten(child, listField));
        } else {
            out.add(node);
        }
        return out;
    }

    private static float[] scoresFromMerges(Path file, JsonNode merges, String[] tokens, int[] types,
                                            Map<String, Integer> index) {
        float[] scores = new float[tokens.length];
        boolean[] made = new boolean[tokens.length];
        int rank = 0;
        for (JsonNode merge : merges) {
            String[] pair = mergePair(file, merge, rank);
            Integer id = index.get(pair[0] + pair[1]);
            if (id == null) {
                throw new ModelFileException(file, "merge " + rank + " '" + pair[0] + " " + pair[1] + "' makes '"
                        + pair[0] + pair[1] + "', which is not in the vocabulary");
            }
            if (!made[id]) {
                scores[id] = -rank;
                made[id] = true;
            }
            rank++;
        }
        for (int id = 0; id < tokens.length; id++) {
            if (!made[id] && (types[id] == Vocabulary.TYPE_NORMAL)) scores[id] = -(rank + id);
        }
        return scores;
    }

    /** A merge is "left right" (split at the first space after the first character) or ["left", "right"]. */
    private static String[] mergePair(Path file, JsonNode merge, int rank) {
        if (merge.isArray() && merge.size() == 2) return new String[] {merge.get(0).asText(), merge.get(1).asText()};
        String text = merge.asText("");
        int space = text.indexOf(' ', 1);
        if (!merge.isTextual() || space < 0) {
            throw new ModelFileException(file, "merge " + rank + " is neither \"left right\" nor [left, right]: " + merge);
        }
        return new String[] {text.substring(0, space), text.substring(space + 1)};
    }

    // ---- writing ---------------------------------------------------------------------------------

    /** Writes {@code vocab} as a Hugging Face tokenizer.json that tokenizes as the {@link Tokenizer} does. */
    public static void write(Vocabulary vocab, Path file) {
        ObjectNode root = NODES.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < vocab.size(); id++) {
            int type = vocab.types()[id];
            if (type != Vocabulary.TYPE_CONTROL && type != Vocabulary.TYPE_UNKNOWN && type != Vocabulary.TYPE_USER_DEFINED) continue;
            added.addObject().put("id", id).put("content", vocab.tokens()[id]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false)
                    .put("special", type != Vocabulary.TYPE_USER_DEFINED);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode normalizers = normalizer.putArray("normalizers");
        if (vocab.addSpacePrefix()) normalizers.addObject().put("type", "Prepend").put("prepend", SPACE_MARK);
        ObjectNode replace = normalizers.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", SPACE_MARK);
        root.putNull("pre_tokenizer");
        if (vocab.addBos()) {
            root.set("post_processor", bosTemplate(vocab.tokens()[vocab.bos()], vocab.bos()));
        } else {
            root.putNull("post_processor");
        }
        root.set("decoder", decoder(vocab.addSpacePrefix()));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", vocab.tokens()[vocab.unk()]);
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        ObjectNode vocabNode = model.putObject("vocab");
        for (int id = 0; id < vocab.size(); id++) vocabNode.put(vocab.tokens()[id], id);
        ArrayNode mergesNode = model.putArray("merges");
        for (String[] m : merges(vocab)) mergesNode.add(m[0] + " " + m[1]);
        writeJson(root, file);
    }

    /**
     * Writes a {@code tokenizer_config.json} with the special tokens, the BOS/EOS flags and the Mixtral
     * chat template, so that {@link #read} (and Hugging Face) restore the same settings.
     */
    public static void writeConfig(Vocabulary vocab, Path file) {
        ObjectNode config = NODES.objectNode();
        config.put("add_bos_token", vocab.addBos());
        config.put("add_eos_token", false);
        config.put("bos_token", vocab.tokens()[vocab.bos()]);
        config.put("eos_token", vocab.tokens()[vocab.eos()]);
        config.put("unk_token", vocab.tokens()[vocab.unk()]);
        config.putNull("pad_token");
        config.put("clean_up_tokenization_spaces", false);
        config.put("legacy", true);
        config.put("tokenizer_class", "LlamaTokenizer");
        config.put("chat_template", ChatTemplate.JINJA);
        writeJson(config, file);
    }

    private static ObjectNode bosTemplate(String bos, int bosId) {
        ObjectNode post = NODES.objectNode().put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode special = post.putObject("special_tokens").putObject(bos);
        special.put("id", bos);
        special.putArray("ids").add(bosId);
        special.putArray("tokens").add(bos);
        return post;
    }

    /** '▁' back to space, byte tokens to bytes, then drop the prefix space, as Mistral's tokenizer.json does. */
    private static ObjectNode decoder(boolean stripPrefix) {
        ObjectNode decoder = NODES.objectNode().put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode replace = decoders.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", SPACE_MARK);
        replace.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        if (stripPrefix) decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        return decoder;
    }

    /**
     * Every split of every mergeable piece into two vocabulary pieces, as [left, right], best piece first.
     * Splits whose halves contain a space are left out: "left right" could not express them, and
     * SentencePiece pieces never contain one (spaces are '▁').
     */
    static List<String[]> merges(Vocabulary vocab) {
        String[] tokens = vocab.tokens();
        Map<String, Integer> index = new HashMap<>(tokens.length * 2);
        for (int id = 0; id < tokens.length; id++) index.put(tokens[id], id);
        List<int[]> merges = new ArrayList<>(); // {piece, left, right}
        for (int id = 0; id < tokens.length; id++) {
            int type = vocab.types()[id];
            if (type != Vocabulary.TYPE_NORMAL && type != Vocabulary.TYPE_UNUSED) continue;
            String piece = tokens[id];
            for (int k = piece.offsetByCodePoints(0, 1); k < piece.length(); k = piece.offsetByCodePoints(k, 1)) {
                Integer left = index.get(piece.substring(0, k));
                Integer right = index.get(piece.substring(k));
                if (left != null && right != null && !tokens[left].contains(" ") && !tokens[right].contains(" ")) {
                    merges.add(new int[] {id, left, right});
                }
            }
        }
        float[] scores = vocab.scores();
        merges.sort(Comparator.<int[]>comparingDouble(m -> -scores[m[0]])
                .thenComparingInt(m -> m[0]).thenComparingInt(m -> m[1]).thenComparingInt(m -> m[2]));
        List<String[]> out = new ArrayList<>(merges.size());
        for (int[] m : merges) out.add(new String[] {tokens[m[1]], tokens[m[2]]});
        return out;
    }

    private static void writeJson(JsonNode node, Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), node);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
