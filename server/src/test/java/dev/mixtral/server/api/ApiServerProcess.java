package dev.mixtral.server.api;

import dev.mixtral.model.MixtralModel;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An API server in its own JVM, for tests of connection limits: the JDK's HTTP server reads those once
 * per process. Prints its port on stdout; exits when stdin closes, so it never outlives its test.
 * Arguments: model file, idle timeout s, request read timeout s, max connections, HTTP server kind.
 */
public final class ApiServerProcess {
    public static void main(String[] args) throws Exception {
        RequestLimits limits = new RequestLimits(RequestLimits.DEFAULTS.maxBodyBytes(), 0, 0, RequestLimits.DEFAULTS.maxConcurrentRequests(),
                Integer.parseInt(args[3]), Duration.ofSeconds(Long.parseLong(args[1])), Duration.ofSeconds(Long.parseLong(args[2])),
                RequestLimits.DEFAULTS.maxHeaderBytes());
        try (MixtralModel model = MixtralModel.open(Path.of(args[0]), LocalExperts::loadAll);
             InferenceEngine engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 16, 1L << 28, 64, KvCache.Type.F32));
             ApiServer server = new ApiServer(engine, model.tokenizer(), new ServerMetrics(),
                     new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null), limits, dev.mixtral.cluster.tls.ApiTls.OFF,
                     HttpServerKind.parse(args[4])).start()) {
            System.out.println(server.port());
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the test closes our stdin or dies
            }
        }
    }

    /** Starts one; the caller closes it. */
    static Running start(Path model, int idleSeconds, int readSeconds, int maxConnections, HttpServerKind kind) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), ApiServerProcess.class.getName(),
                model.toString(), Integer.toString(idleSeconds), Integer.toString(readSeconds), Integer.toString(maxConnections), kind.name()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
            if (line == null) throw new IllegalStateException("the API server process exited: " + p.waitFor());
            return new Running(p, Integer.parseInt(line.strip()));
        } catch (Exception e) {
            p.destroyForcibly();
            throw e;
        }
    }

    record Running(Process process, int port) implements AutoCloseable {
        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly().waitFor();
        }
    }
}
