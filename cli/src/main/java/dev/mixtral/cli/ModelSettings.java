package dev.mixtral.cli;

import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.ExpertBackend;
import dev.mixtral.model.forward.ExpertExecutor;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.weights.ModelFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * How a command runs its model, settled once from the command line ({@link ModelOptions#settings}) and
 * never changed after: the file, compute threads, KV cache, prefill chunk, and where the experts run.
 *
 * @param threads null for all cores
 * @param cluster null for experts in this process
 */
record ModelSettings(Path path, Integer threads, KvCache.Type kvType, int prefillChunk, Cluster cluster) {
    /** Experts on a cluster's expert nodes: how to join it, and how long to wait for nodes covering every expert. */
    record Cluster(Coordinator.Settings coordinator, Duration waitTimeout) {}

    /** Opens the model with its expert backend itself (bench reads a cluster's fan-out figures from it). */
    MixtralModel open() {
        return open(null);
    }

    /** Opens the model with its expert backend started and ready; {@code decorate} wraps the expert executor (e.g. to count routed tokens). */
    MixtralModel open(UnaryOperator<ExpertExecutor> decorate) {
        if (threads != null) Parallel.setThreads(threads);
        if (!Files.exists(path)) throw new UserException(path + ": no such file or directory");
        return MixtralModel.openWith(path, files -> decorate == null ? startExperts(files) : startExperts(files).decorated(decorate));
    }

    private ExpertBackend startExperts(ModelFiles files) {
        if (cluster == null) return ExpertBackend.inProcess(LocalExperts.loadAll(files));
        Coordinator coordinator = Coordinator.join(cluster.coordinator(), files);
        try {
            System.err.printf("[coordinator %s joining the cluster %s; waiting up to %ds for expert nodes covering all %d experts]%n",
                    coordinator.clusterAddress(), cluster.coordinator().join().where(), cluster.waitTimeout().toSeconds(),
                    files.config().experts());
            coordinator.awaitReady(cluster.waitTimeout());
            return coordinator;
        } catch (RuntimeException e) {
            coordinator.close();
            throw e;
        }
    }
}
