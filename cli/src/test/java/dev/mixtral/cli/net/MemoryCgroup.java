package dev.mixtral.cli.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A memory-limited control group for one process, cgroup v2 or v1, whichever this machine lets us create
 * (as root, or with a delegated subtree). A process joins by writing its pid to {@link #procs()}, which a
 * wrapper shell does before it execs the JVM, so every page the JVM touches is charged to the group.
 */
public final class MemoryCgroup implements AutoCloseable {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    private final Path dir;
    private final boolean v2;
    private final long limit;

    private MemoryCgroup(Path dir, boolean v2, long limit) {
        this.dir = dir;
        this.v2 = v2;
        this.limit = limit;
    }

    /** A new group {@code name} limited to {@code limitBytes}, or empty with the reason when none can be made here. */
    public static Optional<MemoryCgroup> create(String name, long limitBytes, StringBuilder whyNot) {
        try {
            if (Files.exists(ROOT.resolve("cgroup.controllers"))) {
                if (!Files.readString(ROOT.resolve("cgroup.subtree_control")).contains("memory")) {
                    whyNot.append("cgroup v2 without the memory controller enabled in ").append(ROOT);
                    return Optional.empty();
                }
                Path dir = Files.createDirectories(ROOT.resolve(name));
                Files.writeString(dir.resolve("memory.max"), Long.toString(limitBytes));
                return Optional.of(new MemoryCgroup(dir, true, limitBytes));
            }
            Path v1 = ROOT.resolve("memory");
            if (Files.isDirectory(v1)) {
                Path dir = Files.createDirectories(v1.resolve(name));
                Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(limitBytes));
                return Optional.of(new MemoryCgroup(dir, false, limitBytes));
            }
            whyNot.append("no cgroup v2 hierarchy and no v1 memory controller under ").append(ROOT);
        } catch (IOException | SecurityException e) {
            whyNot.append("cannot create a memory cgroup under ").append(ROOT).append(": ").append(e);
        }
        return Optional.empty();
    }

    /** The file a process joins through (its pid written there). */
    public Path procs() {
        return dir.resolve("cgroup.procs");
    }

    public long limit() {
        return limit;
    }

    /** The group's peak memory (page cache included): v1 max_usage_in_bytes, v2 memory.peak (or current without it). */
    public long peakBytes() throws IOException {
        Path f = v2 ? (Files.exists(dir.resolve("memory.peak")) ? dir.resolve("memory.peak") : dir.resolve("memory.current"))
                : dir.resolve("memory.max_usage_in_bytes");
        return Long.parseLong(Files.readString(f).strip());
    }

    /** Times the limit was hit (v1 failcnt, v2 the max events). */
    public long limitHits() throws IOException {
        if (!v2) return Long.parseLong(Files.readString(dir.resolve("memory.failcnt")).strip());
        for (String line : Files.readAllLines(dir.resolve("memory.events"))) {
            if (line.startsWith("max ")) return Long.parseLong(line.substring(4).strip());
        }
        return 0;
    }

    /** Removes the group (its processes must be gone). */
    @Override
    public void close() {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // still busy: the kernel removes nothing; left for the operator, named here
            System.err.println("could not remove cgroup " + dir + ": " + e.getMessage());
        }
    }
}
