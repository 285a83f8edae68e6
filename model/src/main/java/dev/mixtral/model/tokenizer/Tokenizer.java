package dev.mixtral.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Text to token ids and back for a SentencePiece vocabulary, reproducing llama.cpp's SPM tokenizer
 * ({@code llama_tokenize} with {@code parse_special = false}) id for id.
 *
 * <p>Encoding: user-defined tokens (type 4) are cut out of the text first, as llama.cpp does even when
 * it does not parse special tokens; control tokens such as {@code <s>} written in the text stay plain
 * text. Each remaining fragment that starts the text or follows a cut-out token gets a space prefix
 * (when the vocabulary asks for one), has ' ' replaced by '▁' and is split by {@link PieceMerger};
 * pieces the vocabulary lacks are spelled as {@code <0xNN>} byte tokens of their UTF-8 bytes.
 * (llama.cpp also keeps a "resegment" path for merged symbols that are not vocabulary pieces; it can
 * never run, since a pair is only merged when its concatenation is a piece, so there is none here.)
 *
 * <p>Decoding: control, unknown and unused tokens contribute nothing, byte tokens their byte, other
 * tokens their text with '▁' as space; a sequence's text drops the one leading space the encoder's
 * prefix put there, as Hugging Face's {@code decode(ids, skip_special_tokens=True)} does, so that
 * {@code decode(encode(text, true)).equals(text)}. (llama.cpp's detokenizer drops it too, but only when
 * the sequence does not start with BOS.)
 *
 * <p>Immutable and thread-safe.
 */
public final class Tokenizer {
    private static final char SPACE_MARK = '▁';

    private final Vocabulary vocab;
    private final Map<String, Integer> ids;
    private final int maxPieceChars;
    private final int[] byteTokens;      // id spelling each byte value, -1 when the vocabulary has none
    private final byte[][] pieceBytes;   // what each token contributes to decoded text
    private final List<String> userDefined; // longest first, the order llama.cpp cuts them out in

    public Tokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        String[] tokens = vocab.tokens();
        ids = HashMap.newHashMap(tokens.length);
        int longest = 0;
        List<String> cutOut = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            ids.put(tokens[i], i);
            longest = Math.max(longest, tokens[i].length());
            if (vocab.types()[i] == Vocabulary.TYPE_USER_DEFINED) cutOut.add(tokens[i]);
        }
        maxPieceChars = longest;
        cutOut.sort(Comparator.comparingInt(String::length).reversed());
        userDefined = List.copyOf(cutOut);
        byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(byteTokenText(b));
            // llama.cpp falls back to a token that is the byte itself (only possible for ASCII here)
            if (id == null && b < 0x80) id = ids.get(String.valueOf((char) b));
            byteTokens[b] = id == null ? -1 : id;
        }
        pieceBytes = new byte[tokens.length][];
        for (int i = 0; i < tokens.length; i++) pieceBytes[i] = decodedBytes(i);
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    /** The text of a byte token, e.g. {@code <0x0A>} (upper-case hex, as SentencePiece writes them). */
    static String byteTokenText(int b) {
        return String.format("<0x%02X>", b);
    }

    // ---- encoding --------------------------------------------------------------------------------

    /**
     * Encodes {@code text} as plain text (special-token text such as {@code </s>} is not recognised), with
     * the vocabulary's BOS id first when {@code addBos}. The empty text encodes to no tokens.
     */
    public int[] encode(String text, boolean addBos) {
        IntStream.Builder out = IntStream.builder();
        if (addBos) out.add(vocab.bos());
        boolean afterToken = true; // the first fragment gets the space prefix, like one after a special token
        for (Object fragment : cutOutUserDefined(text)) {
            if (fragment instanceof Integer id) {
                out.add(id);
                afterToken = true;
            } else {
                encodeFragment((String) fragment, afterToken && vocab.addSpacePrefix(), out);
                afterToken = false;
            }
        }
        return out.build().toArray();
    }

    /** The text split into non-empty strings and the ids of the user-defined tokens found in it. */
    private List<Object> cutOutUserDefined(String text) {
        List<Object> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(text);
        for (String token : userDefined) {
            List<Object> split = new ArrayList<>();
            for (Object fragment : fragments) {
                if (!(fragment instanceof String s)) {
                    split.add(fragment);
                    continue;
                }
                int from = 0;
                for (int at = s.indexOf(token); at >= 0; at = s.indexOf(token, from)) {
                    if (at > from) split.add(s.substring(from, at));
                    split.add(ids.get(token));
                    from = at + token.length();
                }
                if (from < s.length()) split.add(s.substring(from));
            }
            fragments = split;
        }
        return fragments;
    }

    private void encodeFragment(String fragment, boolean spacePrefix, IntStream.Builder out) {
        String text = (spacePrefix ? " " + fragment : fragment).replace(' ', SPACE_MARK);
        int[] bounds = PieceMerger.split(text, ids, vocab.scores(), maxPieceChars);
        for (int k = 0; k + 1 < bounds.length; k++) {
            String piece = text.substring(bounds[k], bounds[k + 1]);
            Integer id = ids.get(piece);
            if (id != null) {
                out.add(id);
                continue;
            }
            // byte fallback: a code point the vocabulary lacks becomes the tokens of its UTF-8 bytes
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int byteId = byteTokens[b & 0xFF];
                out.add(byteId >= 0 ? byteId : vocab.unk());
            }
        }
    }

    // ---- decoding --------------------------------------------------------------------------------

    /** The text of a whole sequence; bytes that do not form valid UTF-8 become U+FFFD. */
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    /**
     * The bytes of a whole sequence, without the single leading space of the encoder's prefix. Byte
     * tokens may spell partial UTF-8 characters (model output need not be valid), hence bytes.
     */
    public byte[] decodeBytes(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        boolean first = true;
        for (int id : ids) {
            byte[] piece = pieceBytes(id, false);
            if (piece.length == 0) continue;
            int skip = first && stripsLeadingSpace() && piece[0] == ' ' ? 1 : 0;
            out.write(piece, skip, piece.length - skip);
            first = false;
        }
        return out.toByteArray();
    }

    /** Whether a sequence's decoded text drops its first space (the one the encoder prefixed). */
    boolean stripsLeadingSpace() {
        return vocab.addSpacePrefix();
    }

    /** The bytes token {@code id} contributes to decoded text (empty for control tokens). */
    public byte[] pieceBytes(int id) {
        return pieceBytes(id, true);
    }

    /** Shared array for internal callers, a copy for the public API. */
    byte[] pieceBytes(int id, boolean copy) {
        if (id < 0 || id >= pieceBytes.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + pieceBytes.length + " tokens");
        }
        return copy ? pieceBytes[id].clone() : pieceBytes[id];
    }

    /**
     * A readable form of one token, for listings and debugging: its text with '▁' shown as a space;
     * control, unknown, unused and byte tokens as their vocabulary text ({@code <s>}, {@code <0x0A>}).
     * Use {@link #decode} or a {@link StreamingDecoder} for real text.
     */
    public String piece(int id) {
        pieceBytes(id, false); // range check
        int type = vocab.types()[id];
        String token = vocab.tokens()[id];
        return type == Vocabulary.TYPE_NORMAL ? token.replace(SPACE_MARK, ' ') : token;
    }

    /** A decoder for a sequence that starts the text (its first leading space is dropped, as in {@link #decode}). */
    public StreamingDecoder newDecoder() {
        return new StreamingDecoder(this, true);
    }

    /**
     * A decoder for tokens that continue text decoded elsewhere (e.g. generated after a prompt), when
     * {@code startOfText} is false: every space is kept.
     */
    public StreamingDecoder newDecoder(boolean startOfText) {
        return new StreamingDecoder(this, startOfText);
    }

    private byte[] decodedBytes(int id) {
        String token = vocab.tokens()[id];
        return switch (vocab.types()[id]) {
            case Vocabulary.TYPE_NORMAL -> token.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
            case Vocabulary.TYPE_USER_DEFINED -> token.getBytes(StandardCharsets.UTF_8);
            case Vocabulary.TYPE_BYTE -> parseByteToken(token);
            // control, unknown, unused and undefined types are not text (llama.cpp's special = false)
            default -> new byte[0];
        };
    }

    private static byte[] parseByteToken(String token) {
        if (token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // fall through: not a byte token after all
            }
        }
        return token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Tokenizer[" + vocab.size() + " tokens, bos " + vocab.bos() + ", eos " + vocab.eos()
                + (userDefined.isEmpty() ? "" : ", " + userDefined.size() + " user-defined") + "]";
    }
}
