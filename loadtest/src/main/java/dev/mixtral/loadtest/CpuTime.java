package dev.mixtral.loadtest;

import java.lang.management.ManagementFactory;

/** CPU time of this process (all threads, JIT and GC included): what the load generator itself costs. */
final class CpuTime {
    private CpuTime() {}

    static long processNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }
}
