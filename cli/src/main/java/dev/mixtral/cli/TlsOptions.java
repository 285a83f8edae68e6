package dev.mixtral.cli;

import dev.mixtral.cluster.tls.ClusterTls;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;

/** Mutual TLS of cluster traffic: the options of every command that talks to the cluster. */
final class TlsOptions {
    @Option(names = "--tls-cert", paramLabel = "FILE", defaultValue = "${env:MIXTRAL_TLS_CERT}",
            description = "Cluster mutual TLS: this process's certificate (PEM), signed by --tls-ca. Env: MIXTRAL_TLS_CERT."
                    + " Without the three --tls-* options, cluster traffic is plaintext.")
    Path cert;

    @Option(names = "--tls-key", paramLabel = "FILE", defaultValue = "${env:MIXTRAL_TLS_KEY}",
            description = "Cluster mutual TLS: the certificate's private key (PEM, unencrypted PKCS#8 RSA). Env: MIXTRAL_TLS_KEY.")
    Path key;

    @Option(names = "--tls-ca", paramLabel = "FILE", defaultValue = "${env:MIXTRAL_TLS_CA}",
            description = "Cluster mutual TLS: the CA certificate (PEM) every member's certificate must be signed by;"
                    + " peers without one are refused. Env: MIXTRAL_TLS_CA.")
    Path ca;

    @Option(names = "--tls-reload-period", paramLabel = "DURATION", converter = Durations.class,
            defaultValue = "${env:MIXTRAL_TLS_RELOAD_PERIOD:-1m}",
            description = "Cluster mutual TLS: how often the three files are checked for a rotated certificate; new gRPC"
                    + " connections use a changed set once it passes the start-up checks, without a restart (default 1m)."
                    + " Env: MIXTRAL_TLS_RELOAD_PERIOD.")
    Duration reloadPeriod = ClusterTls.DEFAULT_RELOAD_PERIOD;

    /** The files given (checked), or plaintext when none is; some but not all is an error. */
    ClusterTls clusterTls() {
        int given = (cert != null ? 1 : 0) + (key != null ? 1 : 0) + (ca != null ? 1 : 0);
        if (given == 0) return ClusterTls.PLAINTEXT;
        if (given < 3) {
            throw new UserException("cluster TLS needs all of --tls-cert, --tls-key and --tls-ca (or MIXTRAL_TLS_CERT/KEY/CA); missing: "
                    + (cert == null ? "--tls-cert " : "") + (key == null ? "--tls-key " : "") + (ca == null ? "--tls-ca" : "").strip());
        }
        return ClusterTls.fromPem(cert, key, ca).withReloadPeriod(reloadPeriod);
    }

    /** Sets the three files (e.g. to a throwaway CA's, by {@code cluster --tls}). */
    void use(Path cert, Path key, Path ca) {
        this.cert = cert;
        this.key = key;
        this.ca = ca;
    }
}
