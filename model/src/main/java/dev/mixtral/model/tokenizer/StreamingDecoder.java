package dev.mixtral.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Decodes a token stream one id at a time and hands out only whole characters: byte tokens that spell
 * one character over several tokens ({@code <0xE6><0xAD><0xA4>} = 此) are held back until the character
 * is complete, so a stream never shows half a character. Concatenating everything {@link #accept}
 * returned and then {@link #finish} gives exactly {@link Tokenizer#decode} of the same ids (or, for a
 * decoder that does not start the text, the same with every space kept).
 *
 * <p>One decoder per sequence; not thread-safe.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private boolean dropLeadingSpace;
    private byte[] pending = new byte[16]; // bytes of text not handed out yet
    private int pendingLength;

    StreamingDecoder(Tokenizer tokenizer, boolean startOfText) {
        this.tokenizer = tokenizer;
        this.dropLeadingSpace = startOfText && tokenizer.stripsLeadingSpace();
    }

    /** Adds one token and returns the text it completes: possibly empty, possibly more than its own piece. */
    public String accept(int id) {
        byte[] piece = tokenizer.pieceBytes(id, false);
        if (piece.length == 0) return "";
        int skip = 0;
        if (dropLeadingSpace) {
            skip = piece[0] == ' ' ? 1 : 0;
            dropLeadingSpace = false;
        }
        append(piece, skip);
        return take(completeLength());
    }

    /**
     * Ends the stream: returns the bytes still held back (an unfinished character, shown as U+FFFD) and
     * empties the decoder, which may go on with more tokens.
     */
    public String finish() {
        return take(pendingLength);
    }

    /** Whether bytes are held back waiting for the rest of a character. */
    public boolean hasPending() {
        return pendingLength > 0;
    }

    private void append(byte[] piece, int from) {
        int n = piece.length - from;
        if (pendingLength + n > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + n));
        }
        System.arraycopy(piece, from, pending, pendingLength, n);
        pendingLength += n;
    }

    /**
     * How many pending bytes end on a character boundary: all of them, unless the last lead byte starts a
     * sequence whose continuation bytes have not all arrived yet. Malformed bytes are never held (they
     * come out as U+FFFD right away), so nothing waits forever.
     */
    private int completeLength() {
        for (int i = pendingLength - 1; i >= Math.max(0, pendingLength - 4); i--) {
            int b = pending[i] & 0xFF;
            if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking for its lead
            return i + sequenceLength(b) > pendingLength ? i : pendingLength;
        }
        return pendingLength;
    }

    /** The UTF-8 sequence length a lead byte announces; 1 for ASCII and for bytes that cannot lead. */
    private static int sequenceLength(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) return 2;
        if (lead >= 0xE0 && lead <= 0xEF) return 3;
        if (lead >= 0xF0 && lead <= 0xF4) return 4;
        return 1;
    }

    private String take(int n) {
        if (n == 0) return "";
        String text = new String(pending, 0, n, StandardCharsets.UTF_8);
        System.arraycopy(pending, n, pending, 0, pendingLength - n);
        pendingLength -= n;
        return text;
    }
}
