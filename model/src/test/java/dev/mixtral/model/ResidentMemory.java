package dev.mixtral.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the kernel says is resident: the pages of a file a process has actually touched (Linux smaps). */
public final class ResidentMemory {
    private ResidentMemory() {}

    /** Sum of Rss over process {@code pid}'s mappings of {@code file}, from /proc/pid/smaps. */
    public static long ofFile(long pid, Path file) {
        try {
            String target = file.toRealPath().toString();
            boolean inFile = false;
            long kb = 0;
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
                if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                    inFile = line.endsWith(" " + target);
                } else if (inFile && line.startsWith("Rss:")) {
                    kb += Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            return kb * 1024;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
