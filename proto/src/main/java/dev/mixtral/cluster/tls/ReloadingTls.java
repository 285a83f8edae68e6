package dev.mixtral.cluster.tls;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The key, certificate and CA of a {@link ClusterTls} as gRPC uses them, re-read when their files change: a rotated
 * certificate (cert-manager renewing a Kubernetes secret, an operator replacing the files) is presented and trusted
 * on new connections without a restart; connections already open keep the session they negotiated. The files'
 * modification times are checked every {@link ClusterTls#reloadPeriod}, and a changed set is taken only once it passes
 * the checks {@link ClusterTls#fromPem} makes at start, so a rotation caught half-way (a new certificate beside the
 * old key) keeps the previous set, says why, and is taken when the rest of it lands. The managers are gRPC's own
 * ({@code grpc-util}), which swap their contents atomically under live handshakes.
 */
final class ReloadingTls {
    private static final Logger LOG = LoggerFactory.getLogger(ReloadingTls.class);
    private static final ScheduledExecutorService CHECKS = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "cluster-tls-reload");
        t.setDaemon(true);
        return t;
    });
    /** One per configuration: every server and channel of the process shares its managers and its check. */
    private static final Map<ClusterTls, ReloadingTls> BY_CONFIGURATION = new ConcurrentHashMap<>();

    final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
    final AdvancedTlsX509TrustManager trust;
    private final ClusterTls tls;
    private List<FileTime> seen;

    static ReloadingTls of(ClusterTls tls) {
        return BY_CONFIGURATION.computeIfAbsent(tls, ReloadingTls::new);
    }

    private ReloadingTls(ClusterTls tls) {
        this.tls = tls;
        try {
            // hostname verification applies where gRPC asks for it: a channel checks the address it dials
            trust = AdvancedTlsX509TrustManager.newBuilder()
                    .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION).build();
            seen = modificationTimes();
            load(ClusterTls.read(tls.cert(), tls.key(), tls.ca()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the TLS files: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use the TLS files: " + e.getMessage(), e);
        }
        long period = tls.reloadPeriod().toMillis();
        CHECKS.scheduleWithFixedDelay(this::reloadIfChanged, period, period, TimeUnit.MILLISECONDS);
    }

    /** Hands the managers the material as it was read and checked: no second read that could see other bytes. */
    private void load(ClusterTls.Material m) throws IOException, GeneralSecurityException {
        keys.updateIdentityCredentials(m.chain().toArray(X509Certificate[]::new), m.key());
        trust.updateTrustCredentials(m.authorities().toArray(X509Certificate[]::new));
    }

    private List<FileTime> modificationTimes() throws IOException {
        List<FileTime> times = new ArrayList<>(3);
        for (Path p : List.of(tls.cert(), tls.key(), tls.ca())) times.add(Files.getLastModifiedTime(p));
        return times;
    }

    /**
     * A file that is missing is not a change: a rotation replaces files, it never leaves one missing (the set in use
     * stays, and a directory deleted under a stopped test server logs nothing). A changed set that fails the checks is
     * logged once, and tried again when the files change again.
     */
    private void reloadIfChanged() {
        List<FileTime> now;
        try {
            now = modificationTimes();
        } catch (IOException e) {
            LOG.debug("cluster TLS: cannot check the files for a new certificate ({}); the one in use stays", e.toString());
            return;
        }
        if (now.equals(seen)) return;
        seen = now;
        try {
            ClusterTls.Material checked = ClusterTls.read(tls.cert(), tls.key(), tls.ca());
            load(checked);
            LOG.info("cluster TLS: re-read {}, {} and {} (now {}): new gRPC connections use them", tls.cert(), tls.key(), tls.ca(),
                    checked.subject());
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            LOG.warn("cluster TLS: the files changed but are not usable yet, so gRPC keeps the previous certificate: {}", e.getMessage());
        }
    }
}
