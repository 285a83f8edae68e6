package dev.mixtral.cli;

import dev.mixtral.cluster.tls.ApiTls;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** TLS for the public APIs (HTTP and gRPC). */
final class ApiTlsOptions {
    @Option(names = "--api-tls-cert", paramLabel = "FILE", defaultValue = "${env:MIXTRAL_API_TLS_CERT}",
            description = "Serve the HTTP API over HTTPS, and the gRPC API over TLS, with this certificate (PEM, optionally followed by its chain)."
                    + " Env: MIXTRAL_API_TLS_CERT.")
    Path cert;

    @Option(names = "--api-tls-key", paramLabel = "FILE", defaultValue = "${env:MIXTRAL_API_TLS_KEY}",
            description = "The --api-tls-cert's private key (PEM, unencrypted PKCS#8, RSA or EC). Env: MIXTRAL_API_TLS_KEY.")
    Path key;

    ApiTls apiTls() {
        if (cert == null && key == null) return ApiTls.OFF;
        if (cert == null || key == null) throw new UserException("HTTPS needs both --api-tls-cert and --api-tls-key");
        return ApiTls.fromPem(cert, key);
    }
}
