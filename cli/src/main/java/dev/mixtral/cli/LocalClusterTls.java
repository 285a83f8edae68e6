package dev.mixtral.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The certificates of {@code cluster}'s processes: with {@code --tls}, a throwaway CA and one certificate
 * per process in a private temporary directory (deleted when the cluster stops), plus one for other
 * processes to join with; with {@code --tls-cert/--tls-key/--tls-ca}, those files for every process;
 * else none (plaintext).
 */
final class LocalClusterTls implements AutoCloseable {
    private final ThrowawayPki pki;
    private final IntFunction<List<String>> nodeArgs;

    private LocalClusterTls(ThrowawayPki pki, IntFunction<List<String>> nodeArgs) {
        this.pki = pki;
        this.nodeArgs = nodeArgs;
    }

    /** Sets up {@code nodes} nodes' certificates; with a throwaway CA, also points {@code coordinator} at its own. */
    static LocalClusterTls setUp(boolean throwaway, TlsOptions coordinator, int nodes) {
        boolean given = coordinator.clusterTls().enabled();
        if (throwaway && given) throw new UserException("--tls makes its own certificates: give either --tls or --tls-cert/--tls-key/--tls-ca");
        if (given) {
            List<String> same = args(coordinator.cert, coordinator.key, coordinator.ca);
            return new LocalClusterTls(null, i -> same);
        }
        if (!throwaway) return new LocalClusterTls(null, i -> List.of());
        ThrowawayPki pki = ThrowawayPki.createTemporary();
        List<List<String>> perNode = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            ThrowawayPki.Identity id = pki.issue("node-" + i);
            perNode.add(args(id.cert(), id.key(), id.ca()));
        }
        ThrowawayPki.Identity self = pki.issue("coordinator");
        coordinator.use(self.cert(), self.key(), self.ca());
        pki.issue("client");
        return new LocalClusterTls(pki, perNode::get);
    }

    IntFunction<List<String>> nodeArgs() {
        return nodeArgs;
    }

    /** For the user: how another process joins this cluster, or null without a throwaway CA. */
    String joinHint() {
        if (pki == null) return null;
        Path d = pki.dir();
        return "--tls-cert " + d.resolve("client.pem") + " --tls-key " + d.resolve("client.key") + " --tls-ca " + pki.caFile();
    }

    private static List<String> args(Path cert, Path key, Path ca) {
        return List.of("--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca", ca.toString());
    }

    /** Deletes the throwaway CA's directory (the certificates die with the cluster). */
    @Override
    public void close() {
        if (pki != null) pki.delete();
    }
}
