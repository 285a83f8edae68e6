package dev.mixtral.cli;

import picocli.CommandLine;

import java.time.Duration;

/** Durations as flags take them: {@code 500ms}, {@code 30s}, {@code 2m}, or plain seconds. */
final class Durations implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    static Duration parse(String value) {
        String v = value.strip().toLowerCase();
        try {
            Duration d;
            if (v.endsWith("ms")) d = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            else if (v.endsWith("s")) d = Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
            else if (v.endsWith("m")) d = Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)) * 60);
            else d = Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
            if (d.isNegative() || d.isZero()) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a positive duration (e.g. 500ms, 30s, 2m)");
        }
    }
}
