package dev.mixtral.cli;

import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.model.weights.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "coordinator", mixinStandardHelpOptions = true,
        description = {"Join the cluster as a coordinator and report which expert nodes serve the model (logs on stderr).",
                "The long-running form of the coordinator role; generate/logits with --seeds do the same per command."})
final class CoordinatorCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Override
    public Integer call() throws InterruptedException {
        if (!model.clusterGiven()) throw new UserException("--seeds or --cluster-bootstrap is required: the cluster to join");
        Coordinator.Settings settings = model.coordinatorSettings();
        Path path = model.modelPath();
        if (!Files.exists(path)) throw new UserException(path + ": no such file or directory");
        ModelFiles files = ModelFiles.open(path); // header only: the coordinator checks nodes against its fingerprint
        Coordinator coordinator = Coordinator.join(settings, files);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            coordinator.close();
            files.close();
        }, "coordinator-shutdown"));
        System.out.printf("coordinator %s for %s (fingerprint %s) joining the cluster %s; coverage changes are logged%n",
                coordinator.clusterAddress(), path, files.fingerprint(), settings.join().where());
        System.out.flush();
        new CountDownLatch(1).await();
        return 0;
    }
}
