package dev.mixtral.model.kernel;

import jdk.incubator.vector.VectorShape;

/**
 * The vector width the kernels execute at, chosen once per JVM. Every kernel's arithmetic is defined on 8-lane
 * groups (see {@link RowKernel}); a width of 128 bits computes each group as two 4-lane passes, 256 bits as one
 * 8-lane pass, and 512 bits (AVX-512) computes two groups at once, one per row of a pair of rows, in the kernels
 * that have that form ({@link RowKernel#PAIRED}; the others run their 256-bit form there). Every lane sees the same
 * operations in the same order in each case, so results are bit-identical at every width and only speed depends on it.
 *
 * <p>The default follows the JIT up to 256 bits: 128 when it compiles no wider vectors (Arm Neon, SSE, AVX without
 * AVX2, {@code -XX:MaxVectorSize=16}), where wider shapes would fall back to scalar code tens of times slower;
 * otherwise 256, also on AVX-512: there Q8_0's 512-bit kernel is faster by itself, but other types' 256-bit kernels
 * measured slower in the same JVM once it had run (docs/vector-width.md), so 512 is chosen, not assumed.
 * {@code -Dmixtral.vectorBits=128|256|512} forces a width (for tests and A/B measurements; one wider than the JIT's
 * runs correctly but as scalar code, which the log line says), {@code =widest} the JIT's widest.
 */
public final class VectorWidth {
    /** The system property that forces a width. */
    public static final String PROPERTY = "mixtral.vectorBits";

    private static final System.Logger LOG = System.getLogger(VectorWidth.class.getName());

    /** The widest vectors the JIT compiles on this CPU under this JVM's flags. */
    public static final int PREFERRED_BITS = VectorShape.preferredShape().vectorBitSize();

    /** The width the kernels run at: 128, 256 or 512. */
    public static final int BITS = choose(System.getProperty(PROPERTY), PREFERRED_BITS);

    static {
        LOG.log(System.Logger.Level.INFO, "kernels run {0}-bit vectors ({1})", BITS, origin());
    }

    private VectorWidth() {}

    /**
     * The execution width for a forced setting (null when none) and the JIT's preferred width.
     *
     * @throws IllegalArgumentException naming the property when the forced setting is not a width the kernels have
     */
    static int choose(String forced, int preferredBits) {
        if (forced != null && !forced.isBlank()) {
            return switch (forced.strip()) {
                case "128" -> 128;
                case "256" -> 256;
                case "512" -> 512;
                case "widest" -> preferredBits >= 512 ? 512 : preferredBits >= 256 ? 256 : 128;
                default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + forced
                        + ": the kernels run at 128, 256 or 512 bits, or the JIT's widest of those (widest)");
            };
        }
        return preferredBits >= 256 ? 256 : 128;
    }

    /** Why {@link #BITS} is what it is, for logs and benchmark reports. */
    public static String origin() {
        String forced = System.getProperty(PROPERTY);
        String widest = "the JIT's widest is " + PREFERRED_BITS
                + (BITS > PREFERRED_BITS ? ": wider vectors run as scalar code, many times slower" : "");
        return forced != null && !forced.isBlank() ? "forced by -D" + PROPERTY + ", " + widest : widest;
    }
}
