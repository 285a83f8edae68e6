package dev.mixtral.server.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The API key clients present as {@code Authorization: Bearer <key>}, over HTTP as a header and over
 * gRPC as metadata. Both sides are hashed before comparing with {@link MessageDigest#isEqual}, so the
 * time taken says nothing about how much of a guess was right, nor how long the key is.
 */
final class ApiKey {
    /** SHA-256 of the accepted {@code Authorization} value, or null when no key is required. */
    private final byte[] expectedAuthorization;

    /** {@code key}: null or empty for none required. */
    ApiKey(String key) {
        this.expectedAuthorization = key == null || key.isEmpty() ? null : sha256("Bearer " + key);
    }

    boolean required() {
        return expectedAuthorization != null;
    }

    /** Null when {@code authorization} (the header's or metadata's value, or null when absent) is accepted, else why not. */
    String refusal(String authorization) {
        if (expectedAuthorization == null) return null;
        if (authorization == null) return "missing API key: send 'Authorization: Bearer <key>'";
        return MessageDigest.isEqual(sha256(authorization), expectedAuthorization) ? null : "incorrect API key";
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
