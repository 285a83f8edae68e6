package dev.mixtral.model.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The CPU's feature flags as Linux reports them ({@code /proc/cpuinfo}), for the few kernel choices that depend
 * on an instruction the JIT may or may not have (the same results either way, only the speed differs).
 * Elsewhere, or if the file cannot be read, no flag is reported and the kernels take their portable form.
 */
final class CpuFlags {
    private CpuFlags() {}

    private static final Set<String> FLAGS = read();

    /** Whether the CPU reports {@code flag} (e.g. {@code avx512vbmi}). */
    static boolean has(String flag) {
        return FLAGS.contains(flag);
    }

    private static Set<String> read() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) return Set.copyOf(java.util.List.of(line.substring(line.indexOf(':') + 1).strip().split("\\s+")));
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: report nothing
        }
        return Set.of();
    }
}
