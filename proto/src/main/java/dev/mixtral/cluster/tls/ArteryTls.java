package dev.mixtral.cluster.tls;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * Pekko settings that put cluster membership on mutual TLS ({@code tls-tcp}) with the same PEM files as
 * gRPC. Pekko's {@code RotatingKeysSSLEngineProvider} reads them: it requires a certificate from every
 * peer, checks it against the CA, and re-reads the files every {@link ClusterTls#reloadPeriod} (the period
 * at which gRPC checks them too, {@link ReloadingTls}), so renewed certificates are picked up without a
 * restart. It also authorises a peer only if its certificate shares a subject name (CN or DNS subject
 * alternative name) with this member's: certificates of one cluster need a name in common (the ones {@code ./mixtral cluster --tls} makes all carry {@code mixtral-cluster}).
 */
public final class ArteryTls {
    private static final Logger LOG = LoggerFactory.getLogger(ArteryTls.class);
    private ArteryTls() {}

    /** Settings to lay over the cluster's configuration: empty with TLS off (Artery's plain {@code tcp}). */
    public static Config settings(ClusterTls tls) {
        tls.noticeIfPlaintext(LOG);
        if (!tls.enabled()) return ConfigFactory.empty();
        String engine = "pekko.remote.artery.ssl.rotating-keys-engine.";
        return ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.transport", "tls-tcp",
                "pekko.remote.artery.ssl.ssl-engine-provider", "org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider",
                engine + "cert-file", tls.cert().toAbsolutePath().toString(),
                engine + "key-file", tls.key().toAbsolutePath().toString(),
                engine + "ca-cert-file", tls.ca().toAbsolutePath().toString(),
                // how long Pekko keeps the TLS context built from the files before reading them again
                engine + "ssl-context-cache-ttl", tls.reloadPeriod().toMillis() + "ms"));
    }
}
