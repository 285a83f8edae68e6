package dev.mixtral.cluster.tls;

import org.slf4j.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
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
    public static final ClusterTls PLAINTEXT = new ClusterTls(null, null, null, null);

    private static final AtomicBoolean PLAINTEXT_NOTICED = new AtomicBoolean();

    private final Path cert;
    private final Path key;
    private final Path ca;
    private final String subject;

    private ClusterTls(Path cert, Path key, Path ca, String subject) {
        this.cert = cert;
        this.key = key;
        this.ca = ca;
        this.subject = subject;
    }

    /**
     * Mutual TLS from PEM files: {@code cert} (this process's certificate, optionally followed by its
     * chain), {@code key} (its private key) and {@code ca} (the certificate(s) peers must be signed by).
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    public static ClusterTls fromPem(Path cert, Path key, Path ca) {
        List<X509Certificate> chain = certificates(cert, "--tls-cert");
        List<X509Certificate> authorities = certificates(ca, "--tls-ca");
        PrivateKey privateKey = rsaKey(key);
        X509Certificate leaf = chain.getFirst();
        try {
            leaf.checkValidity();
        } catch (CertificateException e) {
            throw new IllegalArgumentException("--tls-cert " + cert + ": the certificate is not valid now (" + e.getMessage()
                    + "; valid " + leaf.getNotBefore() + " to " + leaf.getNotAfter() + ")");
        }
        if (!(leaf.getPublicKey() instanceof RSAPublicKey pub) || !(privateKey instanceof RSAPrivateCrtKey priv)
                || !pub.getModulus().equals(priv.getModulus())) {
            throw new IllegalArgumentException("--tls-key " + key + " is not the private key of --tls-cert " + cert);
        }
        if (authorities.stream().noneMatch(a -> signedBy(leaf, a))) {
            throw new IllegalArgumentException("--tls-cert " + cert + " (" + leaf.getSubjectX500Principal().getName()
                    + ") is not signed by the CA in --tls-ca " + ca + ": peers would refuse it");
        }
        return new ClusterTls(cert, key, ca, leaf.getSubjectX500Principal().getName());
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

    private Path require(Path p) {
        if (p == null) throw new IllegalStateException("TLS is off");
        return p;
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

    private static List<X509Certificate> certificates(Path file, String option) {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> certs = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) certs.add((X509Certificate) c);
            if (certs.isEmpty()) throw new IllegalArgumentException(option + " " + file + ": no certificate in it (expected PEM, BEGIN CERTIFICATE)");
            return certs;
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + file + ": cannot read it (" + e + ")");
        } catch (CertificateException e) {
            throw new IllegalArgumentException(option + " " + file + ": not a PEM X.509 certificate (" + e.getMessage() + ")");
        }
    }

    private static PrivateKey rsaKey(Path file) {
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException("--tls-key " + file + ": cannot read it (" + e + ")");
        }
        String begin = "-----BEGIN PRIVATE KEY-----", end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin), to = pem.indexOf(end);
        if (from < 0 || to < from) {
            String found = pem.contains("BEGIN RSA PRIVATE KEY") ? "a PKCS#1 key"
                    : pem.contains("BEGIN ENCRYPTED PRIVATE KEY") ? "an encrypted key"
                    : pem.contains("BEGIN EC PRIVATE KEY") ? "an EC key" : "no PEM private key";
            throw new IllegalArgumentException("--tls-key " + file + ": found " + found + "; expected an unencrypted PKCS#8 RSA key"
                    + " (BEGIN PRIVATE KEY; convert with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8)");
        }
        try {
            byte[] der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IllegalArgumentException("--tls-key " + file + ": not a PKCS#8 RSA private key (" + e.getMessage()
                    + "); the cluster transport needs RSA keys");
        }
    }
}
