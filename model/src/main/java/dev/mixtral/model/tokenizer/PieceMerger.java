package dev.mixtral.model.tokenizer;

import java.util.Map;
import java.util.PriorityQueue;

/**
 * The SentencePiece (BPE-by-score) segmentation that llama.cpp's SPM tokenizer performs: start from one
 * symbol per code point and repeatedly merge the adjacent pair whose concatenation is a vocabulary piece
 * with the highest score, the leftmost pair on ties, until no pair forms a piece.
 *
 * <p>Symbols form a doubly linked list over the text and candidate pairs sit in a priority queue, so a
 * text of n code points costs O(n log n). A merge invalidates the queued pairs that involved either
 * symbol; those are recognised and dropped when they come out of the queue instead of being searched for.
 */
final class PieceMerger {
    private record Pair(int left, int right, float score, int chars) {}

    private final String text;
    private final Map<String, Integer> ids;
    private final float[] scores;
    private final int maxPieceChars; // longer pairs need no look-up
    private final int[] start; // char offset of each symbol
    private final int[] chars; // char length of each symbol; 0 once merged into its left neighbour
    private final int[] prev;
    private final int[] next;
    // Highest score first; on equal scores the pair further left, as llama.cpp's comparator orders them.
    private final PriorityQueue<Pair> queue = new PriorityQueue<>((a, b) ->
            a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));

    private PieceMerger(String text, Map<String, Integer> ids, float[] scores, int maxPieceChars) {
        this.text = text;
        this.ids = ids;
        this.scores = scores;
        this.maxPieceChars = maxPieceChars;
        int n = text.codePointCount(0, text.length());
        start = new int[n];
        chars = new int[n];
        prev = new int[n];
        next = new int[n];
        int offset = 0;
        for (int i = 0; i < n; i++) {
            int width = Character.charCount(text.codePointAt(offset));
            start[i] = offset;
            chars[i] = width;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            offset += width;
        }
    }

    /**
     * Splits {@code text} into pieces and returns their boundaries: piece k is
     * {@code text.substring(bounds[k], bounds[k + 1])}. A piece is either a vocabulary piece or a single
     * code point that the vocabulary lacks (the caller spells those out as byte tokens). {@code ids}
     * maps pieces to ids, {@code scores} holds each id's score.
     */
    static int[] split(String text, Map<String, Integer> ids, float[] scores, int maxPieceChars) {
        return new PieceMerger(text, ids, scores, maxPieceChars).run();
    }

    private int[] run() {
        int n = start.length;
        if (n == 0) return new int[] {0};
        for (int i = 1; i < n; i++) offer(i - 1, i);
        while (!queue.isEmpty()) {
            Pair pair = queue.poll();
            int left = pair.left, right = pair.right;
            // Stale if either symbol was merged away or grew since the pair was queued.
            if (chars[left] == 0 || chars[right] == 0 || chars[left] + chars[right] != pair.chars) continue;
            chars[left] += chars[right];
            chars[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            offer(prev[left], left);
            offer(left, next[left]);
        }
        // Symbol 0 is never merged away (merges fold into the left symbol), so the chain starts there.
        int count = 0;
        for (int i = 0; i != -1; i = next[i]) count++;
        int[] bounds = new int[count + 1];
        int k = 0;
        for (int i = 0; i != -1; i = next[i]) bounds[k++] = start[i];
        bounds[count] = text.length();
        return bounds;
    }

    private void offer(int left, int right) {
        if (left < 0 || right < 0) return;
        int length = chars[left] + chars[right];
        if (length > maxPieceChars) return;
        Integer id = ids.get(text.substring(start[left], start[left] + length));
        if (id != null) queue.add(new Pair(left, right, scores[id], length));
    }
}
