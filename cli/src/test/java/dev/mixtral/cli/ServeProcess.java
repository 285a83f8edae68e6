package dev.mixtral.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code ./mixtral serve} as a user runs it, in a JVM of its own with {@code MIXTRAL_HOME} set to {@code home}:
 * started, its address read from its stdout, and on close stopped with SIGTERM, checking that no process it
 * started (expert nodes) outlives it.
 */
final class ServeProcess implements AutoCloseable {
    private final Process process;
    private final Path home;
    private final String base;

    private ServeProcess(Process process, Path home, String base) {
        this.process = process;
        this.home = home;
        this.base = base;
    }

    static ServeProcess start(Path home, String... serveArgs) throws Exception {
        return start(Duration.ofSeconds(180), home, serveArgs);
    }

    /** As above, waiting up to {@code startBound} for the address (serve prints it once its model and cluster are ready). */
    static ServeProcess start(Duration startBound, Path home, String... serveArgs) throws Exception {
        List<String> cmd = new ArrayList<>(LocalCluster.javaAndFlags());
        // the expert nodes' class-data archive, once recorded: serve loads many of the same classes (Pekko, gRPC, Netty)
        NodeClassArchive.Use archive = NodeClassArchive.ifRecorded(cmd);
        cmd.addAll(archive.jvmOptions());
        cmd.addAll(List.of("-cp", archive.classPath(), Main.class.getName(), "serve"));
        cmd.addAll(List.of(serveArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("MIXTRAL_HOME", home.toString());
        pb.environment().remove("MIXTRAL_MODEL");
        pb.environment().remove("MIXTRAL_SEEDS");
        Process serve = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
            String base = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine(); // serve prints its address alone on stdout once ready
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }).get(startBound.toSeconds(), TimeUnit.SECONDS);
            assertThat(base).startsWith("http://127.0.0.1:");
            return new ServeProcess(serve, home, base);
        } catch (Exception | AssertionError e) {
            serve.destroyForcibly();
            throw e;
        }
    }

    /** The API's base address, e.g. {@code http://127.0.0.1:PORT}. */
    String base() {
        return base;
    }

    /** Waits until {@code /ready} answers 200: every expert covered. */
    ServeProcess awaitReady(HttpClient http, Duration atMost) {
        await().atMost(atMost).until(() ->
                http.send(HttpRequest.newBuilder(URI.create(base + "/ready")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        return this;
    }

    /** Kills it at once (SIGKILL), as a crash would: no shutdown hook runs, nothing says goodbye to the cluster. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("killed serve process exits").isTrue();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy(); // SIGTERM: the shutdown hook stops the expert nodes too
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
        // no expert node may outlive it
        await().atMost(30, TimeUnit.SECONDS).until(() -> ProcessHandle.allProcesses()
                .noneMatch(p -> p.info().commandLine().orElse("").contains(home.toString())
                        || p.info().arguments().map(a -> String.join(" ", a)).orElse("").contains(home.toString())));
    }
}
