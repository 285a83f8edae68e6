package dev.mixtral.cli;

import dev.mixtral.model.weights.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = {"Start N expert nodes on this machine (loopback) sharing the experts evenly, and stream their logs.",
                "Then run e.g. generate --seeds <seed address> against them. Ctrl-C stops them all."})
final class ClusterCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "PATH", description = "A .gguf file or a Hugging Face checkpoint directory. Default: $MIXTRAL_MODEL, else the built-in model.")
    Path model;

    @Option(names = "--nodes", defaultValue = "2", paramLabel = "N", description = "Expert nodes to start. Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--replicas", defaultValue = "1", paramLabel = "R", description = "Nodes holding each expert. Default: ${DEFAULT-VALUE}.")
    int replicas;

    @Option(names = "--seed-port", defaultValue = "25520", paramLabel = "P", description = "Cluster port of node 0, the seed. Default: ${DEFAULT-VALUE}.")
    int seedPort;

    @Override
    public Integer call() throws InterruptedException {
        Path path = ModelOptions.resolveModel(model);
        if (!Files.exists(path)) throw new UserException(path + ": no such file or directory");
        int experts;
        try (ModelFiles files = ModelFiles.open(path)) { // header only
            experts = files.config().experts();
        }
        LocalCluster cluster = LocalCluster.start(path, experts, nodes, replicas, "127.0.0.1", seedPort, List.of(), System.err::println);
        System.out.println("seed " + cluster.seedAddress());
        for (LocalCluster.Node n : cluster.nodes()) {
            System.out.printf("node-%d pid %d experts %s%n", n.index(), n.pid(), dev.mixtral.node.ExpertRanges.format(n.experts()));
        }
        System.out.printf("use it: ./mixtral generate --model %s --seeds %s --prompt …%n", path, cluster.seedAddress());
        System.out.flush();
        // the shutdown hook LocalCluster registered stops the nodes on Ctrl-C / SIGTERM
        new CountDownLatch(1).await();
        return 0;
    }
}
