package dev.mixtral.helm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The container image as the Dockerfile defines it, laid out on this machine: its entry point and ENV,
 * and a file tree with the launcher ({@code docker/mixtral} at {@code /opt/mixtral/bin/mixtral}), the
 * jars the image copies ({@code cli/target/mixtral-cli.jar} and {@code cli/target/lib}) and a Java runtime
 * ({@code -Dmixtral.runtime}, e.g. the jlinked one from docker/jlink-check, else this JVM's).
 */
final class Image {
    private static final Pattern ENTRYPOINT = Pattern.compile("(?m)^ENTRYPOINT\\s+\\[(.*)]\\s*$");
    private static final Pattern ENV = Pattern.compile("(?m)^ENV\\s+([A-Za-z_][A-Za-z0-9_]*)=(\\S+)\\s*$");
    private static final String APP = "/opt/mixtral";

    final Path root;
    final List<String> entrypoint;
    final Map<String, String> env;

    private Image(Path root, List<String> entrypoint, Map<String, String> env) {
        this.root = root;
        this.entrypoint = entrypoint;
        this.env = env;
    }

    static Path repository() {
        return Path.of(System.getProperty("repository.root", "..")).toAbsolutePath().normalize();
    }

    /** Lays the image out under {@code root}. */
    static Image layOut(Path root) throws IOException {
        Path repo = repository();
        String dockerfile = Files.readString(repo.resolve("Dockerfile"));
        Matcher m = ENTRYPOINT.matcher(dockerfile);
        if (!m.find()) throw new IllegalStateException("Dockerfile has no exec-form ENTRYPOINT");
        List<String> entrypoint = new ArrayList<>();
        for (String part : m.group(1).split(",")) entrypoint.add(part.strip().replaceAll("^\"|\"$", ""));
        Map<String, String> env = new LinkedHashMap<>();
        Matcher e = ENV.matcher(dockerfile);
        while (e.find()) env.put(e.group(1), e.group(2));

        Path app = root.resolve(APP.substring(1));
        Files.createDirectories(app.resolve("bin"));
        Files.createDirectories(app.resolve("lib"));
        Path launcher = app.resolve("bin/mixtral");
        Files.copy(repo.resolve("docker/mixtral"), launcher);
        launcher.toFile().setExecutable(true);
        Path cliTarget = Path.of(System.getProperty("cli.target", repo.resolve("cli/target").toString()));
        Files.createSymbolicLink(app.resolve("lib/mixtral-cli.jar"), cliTarget.resolve("mixtral-cli.jar"));
        try (var jars = Files.list(cliTarget.resolve("lib"))) {
            for (Path jar : jars.toList()) Files.createSymbolicLink(app.resolve("lib").resolve(jar.getFileName()), jar);
        }
        String given = System.getProperty("mixtral.runtime", "");
        Path runtime = Path.of(given.isBlank() ? System.getProperty("java.home") : given);
        Files.createSymbolicLink(app.resolve("runtime"), runtime);
        return new Image(root, entrypoint, env);
    }

    /** An absolute path inside the image, on this machine. */
    Path file(String imagePath) {
        if (!imagePath.startsWith("/")) throw new IllegalArgumentException("not absolute: " + imagePath);
        return root.resolve(imagePath.substring(1));
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
