package dev.mixtral.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Class-data sharing for the expert-node processes this JVM starts, when {@value #ENV} names a directory
 * (the test suites set it, since they start dozens of nodes on a 2-core host): the first node started
 * records the classes it loaded into an archive when it exits, and later nodes map that archive instead
 * of loading, parsing and verifying those classes again, which is about half of a node's start-up CPU.
 * The archive is named after everything it depends on (java, flags, the class path and each entry's size
 * and time), so a rebuilt jar or another launcher gets its own; the JVM checks it too and, on any mismatch,
 * runs without it. Nothing a node computes depends on it.
 * <p>
 * The JVM archives only from jars and refuses a class path with a non-empty directory, so when the project
 * itself runs from its jars (a test suite after {@code package}), a node's class path leaves out the
 * directories (test classes: nothing a node runs); otherwise nodes get the whole class path and no archive.
 */
final class NodeClassArchive {
    static final String ENV = "MIXTRAL_NODE_CDS_DIR";
    /** A missing or unusable archive only costs time: not worth lines in every node's output. */
    private static final List<String> QUIET = List.of("-Xlog:cds=off", "-Xlog:aot=off");
    private static final AtomicBoolean RECORDING = new AtomicBoolean();

    /** The JVM options and class path of one node, and what to run once it has exited (moves a recorded archive into place). */
    record Use(List<String> jvmOptions, String classPath, Runnable afterExit) {
        /** The whole class path, no archive: nodes started outside a LocalCluster. */
        static Use none() {
            return new Use(List.of(), System.getProperty("java.class.path"), () -> {});
        }

        /** Whether this node writes the archive when it exits (which takes a few more seconds then). */
        boolean records() {
            return jvmOptions.stream().anyMatch(o -> o.startsWith("-XX:ArchiveClassesAtExit="));
        }
    }

    private NodeClassArchive() {}

    /**
     * For a node started with {@code javaAndFlags} whose exit the caller reports ({@link Use#afterExit}):
     * it uses the archive if there is one, else it may record it.
     */
    static Use forNode(List<String> javaAndFlags) {
        Path dir = directory();
        return dir == null ? Use.none() : use(javaAndFlags, dir);
    }

    /**
     * For another process of the project started with {@code javaAndFlags}, such as a test's {@code serve}: the
     * nodes' archive if one has been recorded (they load most of the same classes), and the class path it was
     * recorded with; never records.
     */
    static Use ifRecorded(List<String> javaAndFlags) {
        Path dir = directory();
        return dir == null ? Use.none() : ifRecorded(javaAndFlags, dir);
    }

    /** The archives' directory ({@value #ENV}) when this process runs from jars, else null: no archive then. */
    private static Path directory() {
        String dir = System.getenv(ENV);
        return dir == null || dir.isBlank() || !fromJar() ? null : Path.of(dir);
    }

    static Use ifRecorded(List<String> javaAndFlags, Path dir) {
        try {
            String classPath = jarsOnly(System.getProperty("java.class.path"));
            Path archive = archive(javaAndFlags, classPath, dir);
            return Files.isRegularFile(archive) ? mapping(archive, classPath) : Use.none();
        } catch (IOException | RuntimeException e) {
            return Use.none();
        }
    }

    static Use use(List<String> javaAndFlags, Path dir) {
        try {
            String classPath = jarsOnly(System.getProperty("java.class.path"));
            Path archive = archive(javaAndFlags, classPath, dir);
            if (Files.isRegularFile(archive)) return mapping(archive, classPath);
            if (!RECORDING.compareAndSet(false, true)) return new Use(List.of(), classPath, () -> {});
            Files.createDirectories(archive.getParent());
            // written at the node's exit under its own name, then moved: no node ever maps a half-written archive
            Path recorded = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + ".recording");
            return new Use(with("-XX:ArchiveClassesAtExit=" + recorded), classPath, () -> {
                try {
                    if (Files.isRegularFile(recorded) && Files.size(recorded) > 0) {
                        Files.move(recorded, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    }
                } catch (IOException e) {
                    // the next node records again
                } finally {
                    try {
                        Files.deleteIfExists(recorded);
                    } catch (IOException e) {
                        // left behind in the archive directory; harmless
                    }
                    RECORDING.set(false);
                }
            });
        } catch (IOException | RuntimeException e) {
            return Use.none();
        }
    }

    /** Whether the project's own classes (the node's main class) come from a jar. */
    private static boolean fromJar() {
        var source = Main.class.getProtectionDomain().getCodeSource();
        return source != null && source.getLocation().getPath().endsWith(".jar");
    }

    private static String jarsOnly(String classPath) {
        List<String> jars = new ArrayList<>();
        for (String entry : classPath.split(File.pathSeparator)) if (!Files.isDirectory(Path.of(entry))) jars.add(entry);
        return String.join(File.pathSeparator, jars);
    }

    private static List<String> with(String option) {
        List<String> options = new ArrayList<>(QUIET);
        options.add(option);
        return options;
    }

    /** A process that maps the recorded archive, with the class path it was recorded with. */
    private static Use mapping(Path archive, String classPath) {
        return new Use(with("-XX:SharedArchiveFile=" + archive), classPath, () -> {});
    }

    private static Path archive(List<String> javaAndFlags, String classPath, Path dir) throws IOException {
        return dir.resolve("node-" + key(javaAndFlags, classPath) + ".jsa");
    }

    private static String key(List<String> javaAndFlags, String classPath) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            StringBuilder s = new StringBuilder(String.join(" ", javaAndFlags)).append('\n').append(classPath);
            for (String entry : classPath.split(File.pathSeparator)) {
                Path p = Path.of(entry);
                if (Files.isRegularFile(p)) s.append('\n').append(Files.size(p)).append(' ').append(Files.getLastModifiedTime(p).toMillis());
            }
            return HexFormat.of().formatHex(d.digest(s.toString().getBytes(StandardCharsets.UTF_8)), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
