package dev.mixtral.loadtest;

import java.time.Duration;
import java.util.Locale;

/** Parses durations as people type them: {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}, or bare seconds ({@code 30}, {@code 0.5}). */
final class DurationParser {
    private DurationParser() {}

    static Duration parse(String text, String option) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        double factor;
        String number;
        if (s.endsWith("ms")) {
            factor = 1e-3;
            number = s.substring(0, s.length() - 2);
        } else if (s.endsWith("s")) {
            factor = 1;
            number = s.substring(0, s.length() - 1);
        } else if (s.endsWith("m")) {
            factor = 60;
            number = s.substring(0, s.length() - 1);
        } else if (s.endsWith("h")) {
            factor = 3600;
            number = s.substring(0, s.length() - 1);
        } else {
            factor = 1;
            number = s;
        }
        double seconds;
        try {
            seconds = Double.parseDouble(number.strip()) * factor;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": '" + text + "' is not a duration (examples: 500ms, 30s, 2m, 1h)");
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException(option + ": the duration must be positive, got '" + text + "'");
        }
        return Duration.ofNanos(Math.round(seconds * 1e9));
    }
}
