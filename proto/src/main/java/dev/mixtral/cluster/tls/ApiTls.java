package dev.mixtral.cluster.tls;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * TLS of the public APIs, HTTP and gRPC (server authentication only: clients are authenticated by API key): off,
 * or a certificate chain and its key from PEM files, checked when the process starts.
 */
public final class ApiTls {
    public static final ApiTls OFF = new ApiTls(null, null, null);

    private final SSLContext context;
    private final Path cert;
    private final Path key;

    private ApiTls(SSLContext context, Path cert, Path key) {
        this.context = context;
        this.cert = cert;
        this.key = key;
    }

    /** {@code cert}: the server's certificate, optionally followed by its chain; {@code key}: its PKCS#8 key (RSA or EC). */
    public static ApiTls fromPem(Path cert, Path key) {
        List<X509Certificate> chain = PemFiles.certificates(cert, "--api-tls-cert");
        PrivateKey privateKey = PemFiles.privateKey(key, "--api-tls-key");
        if (!PemFiles.isKeyOf(privateKey, chain.getFirst())) {
            throw new IllegalArgumentException("--api-tls-key " + key + " is not the private key of --api-tls-cert " + cert);
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] password = new char[0]; // in memory only: the store never leaves this process
            store.setKeyEntry("api", privateKey, password, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return new ApiTls(context, cert, key);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("--api-tls-key " + key + " does not go with --api-tls-cert " + cert + ": " + e.getMessage());
        }
    }

    public boolean enabled() {
        return context != null;
    }

    public String scheme() {
        return enabled() ? "https" : "http";
    }

    /** The server side of TLS with this certificate, for an HTTP server other than the JDK's; null when off. */
    public SSLContext sslContext() {
        return context;
    }

    /** Credentials of the public gRPC API's server: the same certificate when enabled. */
    public ServerCredentials grpcCredentials() {
        if (!enabled()) return InsecureServerCredentials.create();
        try {
            return TlsServerCredentials.create(cert.toFile(), key.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --api-tls-cert/--api-tls-key: " + e.getMessage(), e);
        }
    }

    /** An HTTP server on {@code address}: HTTPS when enabled. */
    public HttpServer bind(InetSocketAddress address, int backlog) throws IOException {
        if (!enabled()) return HttpServer.create(address, backlog);
        HttpsServer server = HttpsServer.create(address, backlog);
        server.setHttpsConfigurator(new HttpsConfigurator(context));
        return server;
    }
}
