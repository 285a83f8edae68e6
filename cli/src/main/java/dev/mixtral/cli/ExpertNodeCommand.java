package dev.mixtral.cli;

import dev.mixtral.cluster.ClusterJoin;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.weights.ModelFiles;
import dev.mixtral.node.ExpertNode;
import dev.mixtral.node.NodeMetrics;
import dev.mixtral.node.ExpertRanges;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "expert-node", mixinStandardHelpOptions = true,
        description = {"Serve some experts of every layer to coordinators over gRPC, as a member of the cluster.",
                "Maps only those experts' weights (nothing dense). Runs until stopped (Ctrl-C / SIGTERM: drains: leaves the cluster,"
                        + " finishes the calls in flight, then exits; allow 30 s)."})
final class ExpertNodeCommand implements Callable<Integer> {
    /** Set by {@link LocalCluster}: the node exits when that process is gone, even if it was killed without hooks. */
    static final String PARENT_PID_ENV = "MIXTRAL_PARENT_PID";

    @Option(names = "--model", paramLabel = "PATH", description = "A .gguf file or a Hugging Face checkpoint directory (the coordinator's model). Default: $MIXTRAL_MODEL, else the built-in model.")
    Path model;

    @Option(names = "--experts", paramLabel = "RANGES", defaultValue = "${env:MIXTRAL_EXPERTS}",
            description = "Experts to hold in every layer, e.g. 0-3 or 0,2,5-7. Env: MIXTRAL_EXPERTS.")
    String experts;

    @Option(names = "--placement", paramLabel = "INDEX/NODES/REPLICAS", defaultValue = "${env:MIXTRAL_PLACEMENT}",
            description = {"Instead of --experts: hold the experts that node INDEX of NODES gets when every expert is on REPLICAS nodes,",
                    "by the rule of 'cluster --replicas' (e.g. 3/8/2; a StatefulSet pod passes its ordinal). Env: MIXTRAL_PLACEMENT."})
    String placement;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "${env:MIXTRAL_GRPC_PORT:-0}",
            description = "gRPC port of the ExpertService (0: any free port; the cluster advertises it). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "${env:MIXTRAL_HOST:-127.0.0.1}",
            description = "Address to bind and advertise, reachable from the coordinators. Default: ${DEFAULT-VALUE} (env MIXTRAL_HOST).")
    String host;

    @Option(names = "--advertise", paramLabel = "HOST:PORT", defaultValue = "${env:MIXTRAL_ADVERTISE}",
            description = "gRPC address to advertise when coordinators reach this node through a proxy or NAT (default: --host and the bound port). Env: MIXTRAL_ADVERTISE.")
    String advertise;

    @Option(names = "--seeds", paramLabel = "HOST:PORT[,…]", defaultValue = "${env:MIXTRAL_SEEDS}",
            description = "The cluster's seeds, the same list on every process (this node's own address may be among them)."
                    + " Only the first seed may found a cluster, and only when none of the others answers as a member within 20 s;"
                    + " so a restarted node rejoins the running cluster. Without it this node founds a new cluster at once"
                    + " (on --cluster-port, default 25520), unless --cluster-bootstrap is given. Env: MIXTRAL_SEEDS.")
    String seeds;

    @Option(names = "--cluster-port", paramLabel = "PORT", defaultValue = "${env:MIXTRAL_CLUSTER_PORT}",
            description = "Cluster (Pekko) port. Default: 25520 without --seeds or --cluster-bootstrap, else any free port.")
    Integer clusterPort;

    @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "${env:MIXTRAL_METRICS_PORT:-0}",
            description = "Port of this node's Prometheus /metrics (0: any free port, logged; -1: off). Default: ${DEFAULT-VALUE} (env MIXTRAL_METRICS_PORT).")
    int metricsPort;

    @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = "${env:MIXTRAL_METRICS_HOST}",
            description = "Address the /metrics endpoint binds (plain HTTP, no authentication; see docs/security-transport.md)."
                    + " Default: --host (env MIXTRAL_METRICS_HOST).")
    String metricsHost;

    @Option(names = "--max-extra-experts", paramLabel = "N", defaultValue = "${env:MIXTRAL_MAX_EXTRA_EXPERTS:-0}",
            description = {"How many experts beyond its own a coordinator rebalancing load (serve --rebalance) may ask this node to map",
                    "while serving, each all its layers' bytes: the memory the node may add. Beyond it, it refuses. Default: ${DEFAULT-VALUE}",
                    "(no extra memory unless budgeted; env MIXTRAL_MAX_EXTRA_EXPERTS)."})
    int maxExtraExperts;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--page-in", negatable = true, defaultValue = "${env:MIXTRAL_PAGE_IN:-true}", fallbackValue = "true",
            description = "Read all this node's expert weights into memory before joining the cluster, with progress, so first calls "
                    + "do not wait on the disk (--no-page-in: page them in on first use, e.g. when the share exceeds memory). "
                    + "Default: ${DEFAULT-VALUE} (env MIXTRAL_PAGE_IN).")
    boolean pageIn;

    @picocli.CommandLine.Mixin
    ClusterBootstrapOptions bootstrap = new ClusterBootstrapOptions();

    @picocli.CommandLine.Mixin
    TlsOptions tls;

    @Override
    public Integer call() throws InterruptedException {
        if (threads != null) {
            if (threads < 1) throw new UserException("--threads must be >= 1");
            Parallel.setThreads(threads);
        }
        boolean byPlacement = placement != null && !placement.isBlank();
        boolean byExperts = experts != null && !experts.isBlank();
        if (!byPlacement && !byExperts) throw new UserException("--experts is required (e.g. --experts 0-3)");
        if (byPlacement && byExperts) throw new UserException("give --experts or --placement, not both");
        Path path = ModelOptions.resolveModel(model);
        if (!Files.exists(path)) throw new UserException(path + ": no such file or directory");
        if (byPlacement) experts = ExpertRanges.format(Placement.parse(placement).experts(modelExperts(path)));
        List<String> seedList = seeds == null ? List.of()
                : Arrays.stream(seeds.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        for (String s : seedList) if (!s.matches(".+:\\d+")) throw new UserException("--seeds: '" + s + "' is not HOST:PORT");
        ClusterJoin join = bootstrap.join(seedList, host);
        // a node founding its own cluster has a well-known port; one that finds the cluster any free one
        int cport = clusterPort != null ? clusterPort : join == null ? 25520 : 0;
        if (port < 0 || port > 65535 || cport < 0 || cport > 65535) throw new UserException("ports must be 0..65535");

        if (maxExtraExperts < 0) throw new UserException("--max-extra-experts must be >= 0, got " + maxExtraExperts);
        if (advertise != null && !advertise.matches(".+:\\d+")) throw new UserException("--advertise: '" + advertise + "' is not HOST:PORT");
        var clusterTls = tls.clusterTls();
        ExpertNode node;
        try (ProgressDisplay progress = pageIn ? ProgressDisplay.open("paging in experts " + experts) : null) {
            node = ExpertNode.start(new ExpertNode.Settings(path, ExpertRanges.parse(experts), host, port, cport,
                    join == null ? ClusterJoin.seeds(List.of()) : join, advertise, clusterTls, maxExtraExperts), progress);
        }
        NodeMetrics metrics = metricsPort < 0 ? null
                : NodeMetrics.start(node.stats(), node::held, node::mappedBytes, metricsHost(), metricsPort);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (metrics != null) metrics.close();
            node.close();
            stopped.countDown();
        }, "expert-node-shutdown"));
        exitWithParent();
        System.out.printf("expert node ready: experts %s, gRPC %s, cluster %s, metrics %s, cluster traffic: %s%n",
                ExpertRanges.format(ExpertRanges.parse(experts)), node.grpcAddress(), node.clusterAddress(),
                metrics == null ? "off" : "http://" + metricsHost() + ":" + metrics.port() + "/metrics", clusterTls.describe());
        System.out.flush();
        stopped.await();
        return 0;
    }

    private static int modelExperts(Path path) {
        try (ModelFiles files = ModelFiles.open(path)) { // header only
            return files.config().experts();
        }
    }

    private String metricsHost() {
        return metricsHost == null || metricsHost.isBlank() ? host : metricsHost;
    }

    private static void exitWithParent() {
        String parent = System.getenv(PARENT_PID_ENV);
        if (parent == null || parent.isBlank()) return;
        ProcessHandle.of(Long.parseLong(parent.strip())).ifPresentOrElse(
                p -> p.onExit().thenRun(() -> System.exit(0)),
                () -> System.exit(0));
    }
}
