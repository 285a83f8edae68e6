package dev.mixtral.model.kernel;

import jdk.incubator.vector.VectorShape;

/**
 * The vector width the kernels execute at, chosen once per JVM. Every kernel's arithmetic is defined on 8-lane
 * groups (see {@link RowKernel}); a width of 128 bits computes each group as two 4-lane passes, 256 bits as one
 * 8-lane pass. Every lane sees the same operations in the same order either way, so results are bit-identical
 * at every width and only speed depends on it.
 *
 * <p>The default follows the JIT: 128 bits when it compiles no wider vectors (Arm Neon, SSE, AVX without AVX2,
 * {@code -XX:MaxVectorSize=16}), where 256-bit shapes would fall back to scalar code tens of times slower;
 * otherwise 256. A 512-bit JIT (AVX-512) also runs the 256-bit kernels: their 8-lane groups do not fill a
 * 16-lane vector without changing the summation order. {@code -Dmixtral.vectorBits=128|256} forces a width
 * (for tests and A/B measurements).
 */
public final class VectorWidth {
    /** The system property that forces a width. */
    public static final String PROPERTY = "mixtral.vectorBits";

    private static final System.Logger LOG = System.getLogger(VectorWidth.class.getName());

    /** The widest vectors the JIT compiles on this CPU under this JVM's flags. */
    public static final int PREFERRED_BITS = VectorShape.preferredShape().vectorBitSize();

    /** The width the kernels run at: 128 or 256. */
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
                default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + forced
                        + ": the kernels run at 128 or 256 bits (a 512-bit JIT runs the 256-bit kernels)");
            };
        }
        return preferredBits >= 256 ? 256 : 128;
    }

    /** Why {@link #BITS} is what it is, for logs and benchmark reports. */
    public static String origin() {
        String forced = System.getProperty(PROPERTY);
        return forced != null && !forced.isBlank()
                ? "forced by -D" + PROPERTY + ", the JIT's widest is " + PREFERRED_BITS
                : "the JIT's widest is " + PREFERRED_BITS;
    }
}
