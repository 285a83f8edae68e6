package dev.mixtral.cli;

import dev.mixtral.server.api.ApiServer;
import dev.mixtral.server.api.GrpcApiServer;
import dev.mixtral.server.api.HttpServerKind;
import dev.mixtral.server.api.ServerMetrics;
import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the OpenAI-compatible API (/v1/completions, /v1/chat/completions, /v1/models), /health, /ready and /metrics.",
                "With --seeds: the experts run on that cluster's expert nodes. With --model and no seeds: everything in this process.",
                "With neither: the built-in synthetic model on a local 2-node cluster started for you."})
final class ServeCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin ServerOptions server;

    @Override
    public Integer call() throws Exception {
        LocalCluster local = null;
        ModelSettings settings;
        if (model.model == null && !model.clusterGiven() && System.getenv("MIXTRAL_MODEL") == null) {
            Path builtin = BuiltinModel.ensure();
            // the nodes get this process's TLS files, if any: they must trust each other
            local = LocalCluster.startFor(builtin, 2, 1, server.localSeedPort, LocalClusterTls.setUp(false, model.tls, 2).nodeArgs(),
                    System.err::println);
            System.err.println("[serve] started a local 2-node expert cluster (seeds " + local.seeds() + ") for the built-in model");
            settings = model.settings(builtin, List.of(local.seeds().split(",")));
        } else {
            settings = model.settings();
        }
        try {
            return server.run(settings);
        } finally {
            if (local != null) local.close();
        }
    }

    /** Options of the API server; shared with {@code cluster --port}. */
    static final class ServerOptions {
        @Option(names = "--port", paramLabel = "PORT", description = "HTTP port (0: any free port). serve: default $MIXTRAL_PORT, else 8080. cluster: the API starts only when given.")
        Integer port;
        @Option(names = "--grpc-port", defaultValue = "${env:MIXTRAL_GRPC_PORT:-8081}", paramLabel = "PORT",
                description = "Port of the gRPC generation API (mixtral.v1.GenerationService; 0: any free port, -1: off). Default: ${DEFAULT-VALUE}.")
        int grpcPort;
        @Option(names = "--host", defaultValue = "${env:MIXTRAL_BIND:-0.0.0.0}", paramLabel = "HOST", description = "Address to listen on. Default: ${DEFAULT-VALUE}.")
        String host;
        @Option(names = "--api-key", defaultValue = "${env:MIXTRAL_API_KEY}", paramLabel = "KEY", description = "Require 'Authorization: Bearer KEY' on /v1/* and on every gRPC call (metadata authorization) (env MIXTRAL_API_KEY). Default: off.")
        String apiKey;
        @Option(names = "--http-server", defaultValue = "${env:MIXTRAL_HTTP_SERVER}", paramLabel = "jdk|jetty",
                description = "The HTTP server under the API: the JDK's built-in one or Jetty (docs/http-server.md). Default: jdk.")
        String httpServer;
        @Option(names = "--served-model-name", paramLabel = "NAME", description = "The model id clients pass. Default: the model file's name.")
        String servedModelName;
        @Option(names = "--max-running", defaultValue = "32", paramLabel = "N", description = "Sequences decoded together per step. Default: ${DEFAULT-VALUE}.")
        int maxRunning;
        @Option(names = "--max-waiting", defaultValue = "256", paramLabel = "N", description = "Queued requests before 429. Default: ${DEFAULT-VALUE}.")
        int maxWaiting;
        @Option(names = "--kv-budget-mb", paramLabel = "MB", description = "KV cache memory for all running requests. Default: a third of the heap.")
        Long kvBudgetMb;
        @Option(names = "--local-seed-port", defaultValue = "25520", paramLabel = "PORT", hidden = true)
        int localSeedPort;
        @Mixin ApiLimitsOptions limits;
        @Mixin ApiTlsOptions apiTls = new ApiTlsOptions();

        /** Opens the model, starts engine and API, and serves until the process is stopped. */
        int run(ModelSettings settings) throws Exception {
            var tls = apiTls.apiTls(); // checked before the model is loaded
            HttpServerKind httpServerKind = httpServerKind();
            ServerMetrics metrics = new ServerMetrics();
            try (MixtralModel m = settings.open(metrics::counting)) {
                EngineConfig defaults = EngineConfig.defaults();
                EngineConfig config = new EngineConfig(maxRunning, maxWaiting,
                        kvBudgetMb != null ? kvBudgetMb << 20 : defaults.kvBudgetBytes(), settings.prefillChunk(), settings.kvType());
                String id = servedModelName != null ? servedModelName : modelId(m.files().path());
                m.experts().observeNodeCalls(metrics::expertCall);
                Coordinator coordinator = m.experts().unwrap(Coordinator.class).orElse(null); // the cluster's own metrics and page
                if (coordinator != null) ClusterMetrics.register(metrics, coordinator);
                ApiServer.Options options = new ApiServer.Options(host, httpPort(), id, apiKey, m.experts()::notReady);
                try (InferenceEngine engine = new InferenceEngine(m.transformer(), config);
                     ApiServer api = new ApiServer(engine, m.tokenizer(), metrics, options, limits.limits(), tls, httpServerKind).start();
                     GrpcApiServer grpc = grpcPort < 0 ? null : new GrpcApiServer(engine, m.tokenizer(), metrics, host, grpcPort, options.notReady(), limits.limits(), tls, apiKey)) {
                    if (coordinator != null) ClusterPage.serve(api, coordinator, engine);
                    String base = tls.scheme() + "://" + (host.equals("0.0.0.0") ? "127.0.0.1" : host) + ":" + api.port();
                    System.err.printf("[serve] model '%s' ready at %s/v1%n", id, base);
                    System.err.printf("[serve] try: curl %s/v1/completions -H 'Content-Type: application/json' -d '{\"model\":\"%s\",\"prompt\":\"Once upon a time\",\"max_tokens\":32}'%n", base, id);
                    if (grpc != null) System.err.printf("[serve] gRPC generation API on port %d%n", grpc.port());
                    System.out.println(base); // the address, alone on stdout, for scripts
                    new CountDownLatch(1).await(); // until the process is stopped
                }
            }
            return 0;
        }

        HttpServerKind httpServerKind() {
            if (httpServer == null || httpServer.isBlank()) return HttpServerKind.DEFAULT;
            try {
                return HttpServerKind.parse(httpServer);
            } catch (IllegalArgumentException e) {
                throw new UserException("--http-server: " + e.getMessage());
            }
        }

        int httpPort() {
            if (port != null) return port;
            String env = System.getenv("MIXTRAL_PORT");
            return env != null && !env.isBlank() ? Integer.parseInt(env.strip()) : 8080;
        }

        static String modelId(Path path) {
            String name = path.getFileName().toString();
            return name.endsWith(".gguf") ? name.substring(0, name.length() - 5) : name;
        }
    }
}
