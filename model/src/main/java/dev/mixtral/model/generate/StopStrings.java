package dev.mixtral.model.generate;

import java.util.List;

/**
 * Ends a stream at the first occurrence of any stop string, which is not returned. Text that might be
 * the start of a stop string is held back until the next piece shows whether it is.
 */
public final class StopStrings {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopStrings(List<String> stops) {
        this.stops = stops;
    }

    public boolean stopped() {
        return stopped;
    }

    /** Adds generated text; returns the part that is safe to send now. */
    public String accept(String text) {
        if (stopped) return "";
        pending.append(text);
        int cut = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int hold = 0;
        for (String s : stops) hold = Math.max(hold, longestSuffixThatStarts(s));
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /** The text held back, once the stream has ended without a stop. */
    public String flush() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }

    private int longestSuffixThatStarts(String stop) {
        int max = Math.min(stop.length() - 1, pending.length());
        for (int n = max; n > 0; n--) {
            if (pending.toString().regionMatches(pending.length() - n, stop, 0, n)) return n;
        }
        return 0;
    }
}
