package dev.mixtral.cluster.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Reads PEM certificates and keys, failing with the option and file named and what is wrong. */
public final class PemFiles {
    private PemFiles() {}

    /** The certificates in {@code file} (at least one), in file order. */
    public static List<X509Certificate> certificates(Path file, String option) {
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

    /** The unencrypted PKCS#8 private key (RSA or EC) in {@code file}. */
    public static PrivateKey privateKey(Path file, String option) {
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + file + ": cannot read it (" + e + ")");
        }
        String begin = "-----BEGIN PRIVATE KEY-----", end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin), to = pem.indexOf(end);
        if (from < 0 || to < from) {
            String found = pem.contains("BEGIN RSA PRIVATE KEY") ? "a PKCS#1 key"
                    : pem.contains("BEGIN ENCRYPTED PRIVATE KEY") ? "an encrypted key"
                    : pem.contains("BEGIN EC PRIVATE KEY") ? "a SEC1 EC key" : "no PEM private key";
            throw new IllegalArgumentException(option + " " + file + ": found " + found + "; expected an unencrypted PKCS#8 key"
                    + " (BEGIN PRIVATE KEY; convert with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + " " + file + ": the key is not valid base64 (" + e.getMessage() + ")");
        }
        for (String algorithm : List.of("RSA", "EC")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException(option + " " + file + ": not a PKCS#8 RSA or EC private key");
    }

    /** Whether {@code key} is the private key of {@code cert}: what it signs, the certificate's public key verifies. */
    public static boolean isKeyOf(PrivateKey key, X509Certificate cert) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> null;
        };
        if (algorithm == null || !key.getAlgorithm().equals(cert.getPublicKey().getAlgorithm())) return false;
        try {
            byte[] probe = "mixtral key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
