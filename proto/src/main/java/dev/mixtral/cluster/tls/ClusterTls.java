package dev.mixtral.cluster.tls;

import org.slf4j.Logger;

import java.nio.file.Path;
import java.time.Duration;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How this process secures cluster traffic (gRPC between coordinator and expert nodes, and Pekko
 * membership): {@link #PLAINTEXT}, or mutual TLS with its own certificate and key and the CA that
 * signs every member's certificate. {@link #fromPem} checks the files when the process starts, so a
 * wrong file is a clear error there and not a handshake failure later.
 *
 * <p>The key must be an unencrypted PKCS#8 RSA key and the certificate signed directly by the CA:
 * Pekko's PEM-reading TLS engine (see {@link ArteryTls}) accepts nothing else.
 */
public final class ClusterTls {
    public static final ClusterTls PLAINTEXT = new ClusterTls(null, null, null, null, null);
    /** How often the files are checked for a rotated certificate unless {@link #withReloadPeriod} says otherwise. */
    public static final Duration DEFAULT_RELOAD_PERIOD = Duration.ofMinutes(1);

    private static final AtomicBoolean PLAINTEXT_NOTICED = new AtomicBoolean();

    private final Path cert;
    private final Path key;
    private final Path ca;
    private final String subject;
    private final Duration reloadPeriod;

    private ClusterTls(Path cert, Path key, Path ca, String subject, Duration reloadPeriod) {
        this.cert = cert;
        this.key = key;
        this.ca = ca;
        this.subject = subject;
        this.reloadPeriod = reloadPeriod;
    }

    /**
     * Mutual TLS from PEM files: {@code cert} (this process's certificate, optionally followed by its
     * chain), {@code key} (its private key) and {@code ca} (the certificate(s) peers must be signed by).
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    public static ClusterTls fromPem(Path cert, Path key, Path ca) {
        return new ClusterTls(cert, key, ca, read(cert, key, ca).subject(), DEFAULT_RELOAD_PERIOD);
    }

    /** What {@link #read} found in the three files, checked: the certificate chain, its key, the CA certificates. */
    record Material(List<X509Certificate> chain, PrivateKey key, List<X509Certificate> authorities) {
        String subject() {
            return chain.getFirst().getSubjectX500Principal().getName();
        }
    }

    /**
     * Reads the three files and checks them as a set: an RSA key, a certificate valid now whose key it is, signed by
     * one of the CA certificates. At start ({@link #fromPem}) and at every reload ({@link ReloadingTls}), which uses
     * exactly what was checked.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    static Material read(Path cert, Path key, Path ca) {
        List<X509Certificate> chain = PemFiles.certificates(cert, "--tls-cert");
        List<X509Certificate> authorities = PemFiles.certificates(ca, "--tls-ca");
        PrivateKey privateKey = PemFiles.privateKey(key, "--tls-key");
        if (!(privateKey instanceof RSAPrivateCrtKey)) {
            throw new IllegalArgumentException("--tls-key " + key + ": a " + privateKey.getAlgorithm() + " key; cluster TLS needs RSA"
                    + " (Pekko's TLS transport reads no other)");
        }
        X509Certificate leaf = chain.getFirst();
        try {
            leaf.checkValidity();
        } catch (CertificateException e) {
            throw new IllegalArgumentException("--tls-cert " + cert + ": the certificate is not valid now (" + e.getMessage()
                    + "; valid " + leaf.getNotBefore() + " to " + leaf.getNotAfter() + ")");
        }
        if (!PemFiles.isKeyOf(privateKey, leaf)) {
            throw new IllegalArgumentException("--tls-key " + key + " is not the private key of --tls-cert " + cert);
        }
        if (authorities.stream().noneMatch(a -> signedBy(leaf, a))) {
            throw new IllegalArgumentException("--tls-cert " + cert + " (" + leaf.getSubjectX500Principal().getName()
                    + ") is not signed by the CA in --tls-ca " + ca + ": peers would refuse it");
        }
        return new Material(chain, privateKey, authorities);
    }

    /**
     * The same files, checked for a rotated certificate every {@code period} by gRPC's servers and channels
     * ({@link ReloadingTls}) and re-read as often by Pekko's TLS engine ({@link ArteryTls}).
     */
    public ClusterTls withReloadPeriod(Duration period) {
        if (!enabled()) return this;
        if (period.isNegative() || period.isZero()) throw new IllegalArgumentException("the TLS reload period must be positive, got " + period);
        return new ClusterTls(cert, key, ca, subject, period);
    }

    public Duration reloadPeriod() {
        return require(reloadPeriod);
    }

    public boolean enabled() {
        return cert != null;
    }

    public Path cert() {
        return require(cert);
    }

    public Path key() {
        return require(key);
    }

    public Path ca() {
        return require(ca);
    }

    /** One phrase for logs: what protects cluster traffic here. */
    public String describe() {
        return enabled() ? "mutual TLS as " + subject + " (CA " + ca + ")" : "plaintext";
    }

    /**
     * With TLS off, says once per process (however many servers, channels and cluster members it starts)
     * that cluster traffic is plaintext and what that means.
     */
    public void noticeIfPlaintext(Logger log) {
        if (!enabled() && PLAINTEXT_NOTICED.compareAndSet(false, true)) {
            log.warn("cluster traffic (gRPC to expert nodes, cluster membership) is PLAINTEXT and unauthenticated: anyone who can"
                    + " reach these ports can read it or use the nodes. Use --tls-cert/--tls-key/--tls-ca (or ./mixtral cluster --tls)"
                    + " on untrusted networks.");
        }
    }

    private static <T> T require(T value) {
        if (value == null) throw new IllegalStateException("TLS is off");
        return value;
    }

    private static boolean signedBy(X509Certificate cert, X509Certificate authority) {
        if (!cert.getIssuerX500Principal().equals(authority.getSubjectX500Principal())) return false;
        try {
            cert.verify(authority.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
