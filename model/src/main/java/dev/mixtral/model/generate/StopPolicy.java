package dev.mixtral.model.generate;

import java.util.Arrays;
import java.util.List;

/**
 * When a sequence ends before its token limit, with {@link FinishReason#STOP}: at a stop token (the
 * model's end-of-sequence), which is never emitted, or at the first stop string in its text, which is
 * cut off with everything after it ({@link StopAwareText}).
 *
 * @param tokens  token ids that end the sequence
 * @param strings texts that end the sequence (empty strings are dropped)
 */
public record StopPolicy(int[] tokens, List<String> strings) {
    public static final StopPolicy NONE = new StopPolicy(new int[0], List.of());

    public StopPolicy {
        tokens = tokens.clone();
        strings = strings.stream().filter(s -> !s.isEmpty()).toList();
    }

    /** Ends at the model's end-of-sequence token and at any of {@code strings}. */
    public static StopPolicy endOfSequence(int eos, List<String> strings) {
        return new StopPolicy(new int[]{eos}, strings);
    }

    public boolean isStopToken(int token) {
        for (int t : tokens) if (t == token) return true;
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StopPolicy p && Arrays.equals(tokens, p.tokens) && strings.equals(p.strings);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + strings.hashCode();
    }

    @Override
    public String toString() {
        return "StopPolicy[tokens=" + Arrays.toString(tokens) + ", strings=" + strings + "]";
    }
}
