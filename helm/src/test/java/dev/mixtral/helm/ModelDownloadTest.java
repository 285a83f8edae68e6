package dev.mixtral.helm;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rendered download init container's script, run here with /bin/sh and curl against a local HTTP
 * server (127.0.0.1) standing in for model.url: it fetches once per volume, checks model.sha256, and
 * leaves no model file behind when the check fails.
 */
class ModelDownloadTest {
    private static final byte[] MODEL = "GGUF pretend model bytes".getBytes(StandardCharsets.UTF_8);

    @TempDir Path volume;
    private HttpServer server;
    private final AtomicInteger downloads = new AtomicInteger();

    @BeforeEach
    void serveTheModel() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/model.gguf", ex -> {
            downloads.incrementAndGet();
            ex.sendResponseHeaders(200, MODEL.length);
            ex.getResponseBody().write(MODEL);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void downloadsOnceAndChecksTheHash() throws Exception {
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(MODEL));
        assertThat(runInit(sha).exit).isZero();
        assertThat(volume.resolve("model.gguf")).hasBinaryContent(MODEL);
        Run again = runInit(sha);
        assertThat(again.exit).isZero();
        assertThat(again.output).contains("model present");
        assertThat(downloads.get()).as("a restarted pod finds the verified file").isEqualTo(1);
    }

    @Test
    void aWrongHashFailsThePodAndLeavesNoModel() throws Exception {
        Run r = runInit("0".repeat(64));
        assertThat(r.exit).isNotZero();
        assertThat(r.output).contains("FAILED");
        assertThat(volume.resolve("model.gguf")).doesNotExist();
    }

    private record Run(int exit, String output) {}

    private Run runInit(String sha256) throws Exception {
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/model.gguf";
        StatefulSet nodes = Chart.render(null, Chart.sets("model.url", url, "model.sha256", sha256)).one(StatefulSet.class, "-node");
        Container init = nodes.getSpec().getTemplate().getSpec().getInitContainers().getFirst();
        String mountPath = init.getVolumeMounts().getFirst().getMountPath();
        Map<String, String> env = Kubelet.resolveEnv(init, Kubelet.statefulSetPod(nodes, 0, "127.0.0.1"));
        env.replaceAll((k, v) -> LocalPod.localize(v, Map.of(), Map.of(mountPath, volume)));
        ProcessBuilder pb = new ProcessBuilder(init.getCommand()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return new Run(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
        }
    }
}
