package dev.mixtral.cli;

import dev.mixtral.cluster.ClusterJoin;
import dev.mixtral.cluster.WireFormat;
import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.coordinator.RebalancePolicy;
import dev.mixtral.coordinator.Rebalancer;
import dev.mixtral.coordinator.Hedging;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.tensor.GgmlType;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** Options shared by the commands that run a model. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file or a Hugging Face checkpoint directory. Default: the built-in synthetic model (${MIXTRAL_MODEL} if set).")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--kv-cache", paramLabel = "TYPE", defaultValue = "f32", description = "KV cache type: f32 (exact) or f16. Default: ${DEFAULT-VALUE}.")
    String kvCache;

    @Option(names = "--prefill-chunk", paramLabel = "N", defaultValue = "256", description = "Prompt tokens per forward step. Default: ${DEFAULT-VALUE}.")
    int prefillChunk;

    // ---- the coordinator role: with --seeds, experts run on the cluster's expert nodes ----

    @Option(names = "--seeds", paramLabel = "HOST:PORT[,…]", defaultValue = "${env:MIXTRAL_SEEDS}",
            description = "Run as a coordinator: join the cluster at these members and compute the experts on its expert nodes"
                    + " (only the dense weights are loaded here). Env: MIXTRAL_SEEDS.")
    String seeds;

    @Option(names = "--wait-timeout", paramLabel = "DURATION", defaultValue = "60s", converter = Durations.class,
            description = "With a cluster (--seeds or --cluster-bootstrap): how long to wait for expert nodes covering every expert. Default: ${DEFAULT-VALUE}.")
    Duration waitTimeout;

    @Option(names = "--call-timeout", paramLabel = "DURATION", defaultValue = "60s", converter = Durations.class,
            description = "With a cluster (--seeds or --cluster-bootstrap): deadline of each call to an expert node (one layer of one step). Default: ${DEFAULT-VALUE}.")
    Duration callTimeout;

    @Option(names = "--node-warmup-calls", paramLabel = "N", defaultValue = "2000",
            description = "With a cluster (--seeds or --cluster-bootstrap): empty Compute calls each joining expert node gets before it is routed to, so the JIT has "
                    + "compiled the call path on both sides (0: none). Default: ${DEFAULT-VALUE}.")
    int nodeWarmUpCalls;

    @Option(names = "--cluster-host", paramLabel = "HOST", defaultValue = "${env:MIXTRAL_HOST:-127.0.0.1}",
            description = "With a cluster (--seeds or --cluster-bootstrap): this process's cluster address, reachable from the nodes. Default: ${DEFAULT-VALUE} (env MIXTRAL_HOST).")
    String clusterHost;

    @Option(names = "--cluster-port", paramLabel = "PORT", defaultValue = "0",
            description = "With a cluster (--seeds or --cluster-bootstrap): this process's cluster port (0: any free port). Default: ${DEFAULT-VALUE}.")
    int clusterPort;

    @Option(names = "--wire-dtype", paramLabel = "TYPE", defaultValue = "f32",
            description = "With a cluster (--seeds or --cluster-bootstrap): activations on the wire: f32 (exact, bit-identical to one process), bf16 or f16 (half the bytes, rounded). Default: ${DEFAULT-VALUE}.")
    String wireDtype;

    @picocli.CommandLine.Mixin
    TlsOptions tls = new TlsOptions();

    @picocli.CommandLine.Mixin
    ClusterBootstrapOptions bootstrap = new ClusterBootstrapOptions();

    @Option(names = "--hedge-after", paramLabel = "auto|off|DURATION", defaultValue = "auto",
            description = "With a cluster (--seeds or --cluster-bootstrap): when a call to an expert node has not answered, send its experts to a replica too:"
                    + " auto (after 3 × the p99 of recent call times, 50 ms to 2 s), off, or a fixed duration. Default: ${DEFAULT-VALUE}.")
    String hedgeAfter;

    @Option(names = "--rebalance", description = {"With --seeds: replicate hot experts onto less loaded expert nodes while serving, and drop the",
            "replicas when the load evens out (nodes must allow it: expert-node --max-extra-experts). Off by default: it adds memory on",
            "the nodes at runtime, which must be budgeted. Outputs do not change."})
    boolean rebalance;

    @Option(names = "--rebalance-period", paramLabel = "DURATION", defaultValue = "10s",
            description = "With --rebalance: how often to decide (at most one change each time), over the last 3 periods of load (at most 30 s). Default: ${DEFAULT-VALUE}.")
    String rebalancePeriod;

    Path modelPath() {
        return resolveModel(model);
    }

    /** The model to use: the flag, else $MIXTRAL_MODEL, else the built-in synthetic model. */
    static Path resolveModel(Path model) {
        if (model != null) return model;
        String env = System.getenv("MIXTRAL_MODEL");
        if (env != null && !env.isBlank()) return Path.of(env);
        return BuiltinModel.ensure();
    }

    KvCache.Type kvType() {
        return switch (kvCache.toLowerCase()) {
            case "f32" -> KvCache.Type.F32;
            case "f16" -> KvCache.Type.F16;
            default -> throw new UserException("--kv-cache must be f32 or f16, got '" + kvCache + "'");
        };
    }

    /** The settings these options give, validated: built once, never changed after. */
    ModelSettings settings() {
        return settings(modelPath(), seedList());
    }

    /** The same, with the model file and the cluster's seeds the command chose (e.g. a cluster it started itself). */
    ModelSettings settings(Path path, List<String> seeds) {
        if (threads != null && threads < 1) throw new UserException("--threads must be >= 1");
        if (prefillChunk < 1) throw new UserException("--prefill-chunk must be >= 1");
        ClusterJoin join = join(seeds);
        ModelSettings.Cluster cluster = join == null ? null : new ModelSettings.Cluster(coordinatorSettings(join), waitTimeout);
        return new ModelSettings(path, threads, kvType(), prefillChunk, cluster);
    }

    List<String> seedList() {
        if (seeds == null || seeds.isBlank()) return List.of();
        return Arrays.stream(seeds.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** Whether a cluster to run the experts on was given: --seeds or --cluster-bootstrap. */
    boolean clusterGiven() {
        return !seedList().isEmpty() || bootstrap.given();
    }

    /** The coordinator role's settings; requires {@link #clusterGiven}. */
    Coordinator.Settings coordinatorSettings() {
        ClusterJoin join = join(seedList());
        if (join == null) throw new UserException("--seeds or --cluster-bootstrap is required: the cluster to join");
        return coordinatorSettings(join);
    }

    private ClusterJoin join(List<String> seeds) {
        for (String s : seeds) {
            if (!s.matches(".+:\\d+")) throw new UserException("--seeds: '" + s + "' is not HOST:PORT");
        }
        return bootstrap.join(seeds, clusterHost);
    }

    private Coordinator.Settings coordinatorSettings(ClusterJoin join) {
        if (clusterPort < 0 || clusterPort > 65535) throw new UserException("--cluster-port must be 0..65535");
        GgmlType wire;
        try {
            wire = WireFormat.type(wireDtype);
        } catch (IllegalArgumentException e) {
            throw new UserException("--wire-dtype must be f32, bf16 or f16, got '" + wireDtype + "'");
        }
        if (nodeWarmUpCalls < 0) throw new UserException("--node-warmup-calls must be >= 0");
        Hedging.Policy hedging = switch (hedgeAfter.strip().toLowerCase()) {
            case "auto" -> Hedging.Policy.DEFAULT;
            case "off" -> Hedging.Policy.OFF;
            default -> Hedging.Policy.after(Durations.parse(hedgeAfter));
        };
        return new Coordinator.Settings(join, clusterHost, clusterPort, callTimeout, wire, nodeWarmUpCalls, hedging, tls.clusterTls())
                .withRebalance(rebalanceSettings());
    }

    private Rebalancer.Settings rebalanceSettings() {
        if (!rebalance) return Rebalancer.Settings.OFF;
        java.time.Duration period = Durations.parse(rebalancePeriod);
        if (period.toMillis() < 100) throw new UserException("--rebalance-period must be at least 100ms, got " + rebalancePeriod);
        return new Rebalancer.Settings(period, RebalancePolicy.DEFAULT);
    }
}
