package dev.mixtral.model.tensor;

/**
 * Error bounds of the 32-value block formats, derived from how their reference quantizers round. Shared by
 * the round-trip and golden-file tests.
 */
final class Bounds {
    private Bounds() {}

    /** Slack for the float rounding of {@code x * (1/d)} and of the products: far below any step. */
    private static float slack(float amax) {
        return Math.ulp(amax) * 4;
    }

    /** The ideal (unrounded) scale of the block at {@code x[off .. off + 32)}. */
    static float idealScale(GgmlType type, float[] x, int off) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[off + j];
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return switch (type) {
            case Q8_0 -> amax / 127f;
            case Q4_0 -> max / -8f;
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** The quantization step of the block: |d| as stored (fp16). */
    static float step(GgmlType type, float[] x, int off) {
        return Math.abs(HalfFloats.roundToF16(idealScale(type, x, off)));
    }

    /**
     * How far the decoded {@code v} (a value of the block at {@code x[off ..)}) may be from {@code v}:
     * half a step where {@code v} is inside the grid (beyond it, Q4_0's top level +7 is a full step short of
     * +8), plus the largest level times the fp16 rounding of the scale.
     */
    static float elementBound(GgmlType type, float[] x, int off, float v) {
        float d = idealScale(type, x, off);
        float d16 = HalfFloats.roundToF16(d);
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float inGrid;
        int maxLevel;
        if (type == GgmlType.Q8_0) {
            inGrid = 0.5f * d;
            maxLevel = 127;
        } else {
            float r = d == 0 ? 0 : v / d;
            inGrid = r > 7.5f ? (r - 7) * Math.abs(d) : 0.5f * Math.abs(d);
            maxLevel = 8;
        }
        return inGrid + maxLevel * Math.abs(d - d16) + slack(amax);
    }
}
