package dev.mixtral.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/** The JVM flags every process of the project runs with: the root pom's jvm.flags, filtered into this jar at build time. */
final class JvmFlags {
    private static final String RESOURCE = "/mixtral/jvm-flags";

    private JvmFlags() {}

    static List<String> read() {
        try (InputStream in = JvmFlags.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(RESOURCE + " is missing from the class path (build with Maven)");
            String flags = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            if (flags.isEmpty() || flags.contains("${")) throw new IllegalStateException(RESOURCE + " was not filtered from the pom: '" + flags + "'");
            return Arrays.stream(flags.split("\\s+")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
