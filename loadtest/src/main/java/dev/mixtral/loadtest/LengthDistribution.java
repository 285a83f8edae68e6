package dev.mixtral.loadtest;

import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * A distribution of token counts for synthetic prompts and outputs: {@code 128} (fixed),
 * {@code uniform:64:256} (inclusive bounds) or {@code normal:128:32} (mean, standard deviation; clipped to ≥ 1).
 */
record LengthDistribution(Kind kind, double a, double b) {
    enum Kind { FIXED, UNIFORM, NORMAL }

    static LengthDistribution parse(String text, String option) {
        String[] p = text.strip().toLowerCase(Locale.ROOT).split(":");
        try {
            LengthDistribution d = switch (p[0]) {
                case "uniform" -> {
                    requireParts(p, 3, text, option);
                    yield new LengthDistribution(Kind.UNIFORM, Integer.parseInt(p[1]), Integer.parseInt(p[2]));
                }
                case "normal" -> {
                    requireParts(p, 3, text, option);
                    yield new LengthDistribution(Kind.NORMAL, Double.parseDouble(p[1]), Double.parseDouble(p[2]));
                }
                default -> {
                    requireParts(p, 1, text, option);
                    yield new LengthDistribution(Kind.FIXED, Integer.parseInt(p[0]), 0);
                }
            };
            d.validate(text, option);
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": '" + text + "' is not a length distribution (examples: 128, uniform:64:256, normal:128:32)");
        }
    }

    private static void requireParts(String[] p, int n, String text, String option) {
        if (p.length != n) {
            throw new IllegalArgumentException(option + ": '" + text + "' is not a length distribution (examples: 128, uniform:64:256, normal:128:32)");
        }
    }

    private void validate(String text, String option) {
        boolean ok = switch (kind) {
            case FIXED -> a >= 1;
            case UNIFORM -> a >= 1 && b >= a;
            case NORMAL -> a >= 1 && b >= 0;
        };
        if (!ok) throw new IllegalArgumentException(option + ": '" + text + "' must give lengths ≥ 1 (uniform: min ≤ max; normal: sd ≥ 0)");
    }

    int sample(RandomGenerator random) {
        return switch (kind) {
            case FIXED -> (int) a;
            case UNIFORM -> (int) a + random.nextInt((int) b - (int) a + 1);
            case NORMAL -> Math.max(1, (int) Math.round(a + b * random.nextGaussian()));
        };
    }

    double mean() {
        return switch (kind) {
            case FIXED, NORMAL -> a;
            case UNIFORM -> (a + b) / 2;
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case FIXED -> Integer.toString((int) a);
            case UNIFORM -> "uniform:" + (int) a + ":" + (int) b;
            case NORMAL -> "normal:" + a + ":" + b;
        };
    }
}
