package dev.mixtral.node;

import java.util.SortedSet;
import java.util.StringJoiner;
import java.util.TreeSet;

/** Expert sets as people write them: {@code 0-3}, {@code 0,2,5-7}. */
public final class ExpertRanges {
    private ExpertRanges() {}

    public static SortedSet<Integer> parse(String text) {
        SortedSet<Integer> experts = new TreeSet<>();
        if (text == null || text.isBlank()) throw new IllegalArgumentException("no experts given (e.g. 0-3 or 0,2,5-7)");
        for (String part : text.split(",")) {
            String p = part.strip();
            try {
                int dash = p.indexOf('-', 1);
                int from = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).strip());
                int to = dash < 0 ? from : Integer.parseInt(p.substring(dash + 1).strip());
                if (from < 0 || to < from) throw new NumberFormatException();
                for (int e = from; e <= to; e++) experts.add(e);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad expert range '" + p + "' in '" + text + "' (e.g. 0-3 or 0,2,5-7)");
            }
        }
        return experts;
    }

    /** The shortest range notation of a set: {@code [0,1,2,3,6]} → {@code 0-3,6}. */
    public static String format(Iterable<Integer> experts) {
        StringJoiner out = new StringJoiner(",");
        Integer start = null, prev = null;
        for (int e : new TreeSet<Integer>(toSet(experts))) {
            if (prev != null && e == prev + 1) {
                prev = e;
                continue;
            }
            if (start != null) out.add(start.equals(prev) ? "" + start : start + "-" + prev);
            start = prev = e;
        }
        if (start != null) out.add(start.equals(prev) ? "" + start : start + "-" + prev);
        return out.toString();
    }

    private static SortedSet<Integer> toSet(Iterable<Integer> experts) {
        SortedSet<Integer> s = new TreeSet<>();
        experts.forEach(s::add);
        return s;
    }
}
