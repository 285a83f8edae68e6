package dev.mixtral.model.forward;

/**
 * How the next token is chosen. {@code temperature == 0} is greedy (argmax, ties to the lowest id).
 * Otherwise: keep the {@code topK} most likely (0 = all), divide by the temperature, softmax, keep the
 * smallest set whose probability reaches {@code topP}, draw with a generator seeded by {@code seed}.
 */
public record SamplingParams(float temperature, int topK, float topP, long seed) {
    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0);

    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }

    public boolean greedy() {
        return temperature == 0f;
    }
}
