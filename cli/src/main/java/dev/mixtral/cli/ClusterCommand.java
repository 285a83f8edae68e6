package dev.mixtral.cli;

import dev.mixtral.node.ExpertRanges;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = {"Start N expert nodes on this machine (loopback) sharing the experts evenly, and stream their logs.",
                "With --port, also serve the API (as 'serve --seeds <seed>' would) through them. Ctrl-C stops them all."})
final class ClusterCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin ServeCommand.ServerOptions server;

    @Option(names = "--nodes", defaultValue = "2", paramLabel = "N", description = "Expert nodes to start. Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--replicas", defaultValue = "1", paramLabel = "R", description = "Nodes holding each expert. Default: ${DEFAULT-VALUE}.")
    int replicas;

    @Option(names = "--seed-port", defaultValue = "25520", paramLabel = "P", description = "Cluster port of node 0; nodes 1 and 2 (the other seeds) take the next ports. Default: ${DEFAULT-VALUE}.")
    int seedPort;

    @Option(names = "--max-extra-experts", paramLabel = "N",
            description = "Extra experts each node may map while serving (replicas of hot experts). Default: 2 with --rebalance, else 0.")
    Integer maxExtraExperts;

    @Option(names = "--tls", description = "Mutual TLS between all the cluster's processes, with a throwaway CA and a certificate per process"
            + " made in a private temporary directory (deleted on exit; printed, with a certificate for other processes to join).")
    boolean tls;

    @Override
    public Integer call() throws Exception {
        Path path = model.modelPath();
        LocalClusterTls certificates = LocalClusterTls.setUp(tls, model.tls, nodes);
        Runtime.getRuntime().addShutdownHook(new Thread(certificates::close, "local-cluster-certificates"));
        // the shutdown hook LocalCluster registers stops the nodes on Ctrl-C / SIGTERM
        int extra = maxExtraExperts != null ? maxExtraExperts : model.rebalance ? 2 : 0;
        if (extra < 0) throw new UserException("--max-extra-experts must be >= 0, got " + extra);
        java.util.function.IntFunction<List<String>> nodeArgs = i -> {
            List<String> args = new java.util.ArrayList<>(certificates.nodeArgs().apply(i));
            args.addAll(List.of("--max-extra-experts", Integer.toString(extra)));
            return args;
        };
        LocalCluster cluster = LocalCluster.startFor(path, nodes, replicas, seedPort, nodeArgs, System.err::println);
        System.out.println("seeds " + cluster.seeds());
        if (certificates.joinHint() != null) System.out.println("tls " + certificates.joinHint());
        for (LocalCluster.Node n : cluster.nodes()) {
            System.out.printf("node-%d pid %d experts %s%n", n.index(), n.pid(), ExpertRanges.format(n.experts()));
        }
        System.out.flush();
        try {
            if (server.port != null) {
                return server.run(model.settings(path, List.of(cluster.seeds().split(","))));
            }
            System.out.printf("use it: ./mixtral generate --model %s --seeds %s%s --prompt …%n", path, cluster.seeds(),
                    certificates.joinHint() == null ? "" : " " + certificates.joinHint());
            System.out.flush();
            new CountDownLatch(1).await();
            return 0;
        } finally {
            cluster.close();
            certificates.close();
        }
    }
}
