package dev.mixtral.model.kernel;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CpuFlagsTest {
    /** On Linux x86-64 every CPU reports SSE2 (part of the architecture), and no CPU reports a made-up flag. */
    @Test
    void readsTheFlagsLinuxReports() throws Exception {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        assumeTrue(Files.isReadable(cpuinfo) && "amd64".equals(System.getProperty("os.arch")), "Linux x86-64 only");
        assertThat(CpuFlags.has("sse2")).isTrue();
        assertThat(CpuFlags.has("avx2")).isEqualTo(Files.readString(cpuinfo).contains(" avx2"));
        assertThat(CpuFlags.has("no_such_flag")).isFalse();
    }
}
