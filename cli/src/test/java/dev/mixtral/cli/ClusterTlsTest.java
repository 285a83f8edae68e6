package dev.mixtral.cli;

import dev.mixtral.cluster.tls.ClusterTls;
import dev.mixtral.cluster.tls.GrpcTls;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import dev.mixtral.proto.v1.NodeDescription;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Mutual TLS of a real gRPC server on loopback with the cluster's credentials: a client with a
 * certificate from the cluster CA gets answers; a plaintext client, a client with another CA's
 * certificate and a client without a certificate are refused, and each refusal is logged with the
 * client's address. A certificate rotated in place is presented to new connections without a restart. Also: the
 * checks {@link ClusterTls#fromPem} makes at start, and the files the throwaway CA writes.
 */
class ClusterTlsTest {
    @TempDir
    static Path dir;

    static ThrowawayPki pki;
    static ClusterTls serverTls;
    static Server server;
    static final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    static PrintStream originalErr;

    @BeforeAll
    static void start() throws IOException {
        originalErr = System.err;
        System.setErr(new PrintStream(new TeeStream(stderr, originalErr), true, StandardCharsets.UTF_8));
        pki = ThrowawayPki.create(dir.resolve("ca"), "test CA");
        ThrowawayPki.Identity node = pki.issue("node");
        serverTls = ClusterTls.fromPem(node.cert(), node.key(), node.ca());
        server = describing(serverTls, "test server", "tls-test");
    }

    /** A loopback gRPC server with {@code tls} whose {@code Describe} answers {@code name}. */
    private static Server describing(ClusterTls tls, String what, String name) throws IOException {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), GrpcTls.server(tls, what))
                .addService(new ExpertServiceGrpc.ExpertServiceImplBase() {
                    @Override
                    public void describe(DescribeRequest request, StreamObserver<NodeDescription> answer) {
                        answer.onNext(NodeDescription.newBuilder().setNodeName(name).build());
                        answer.onCompleted();
                    }
                }).build().start();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (server != null) server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        System.setErr(originalErr);
    }

    @Test
    void aClientWithACertificateFromTheClusterCaIsAnswered() {
        ThrowawayPki.Identity coordinator = pki.issue("coordinator");
        ClusterTls tls = ClusterTls.fromPem(coordinator.cert(), coordinator.key(), coordinator.ca());
        assertThat(describe(GrpcTls.channel(tls)).getNodeName()).isEqualTo("tls-test");
    }

    @Test
    void aPlaintextClientIsRefusedAndLogged() {
        assertRefused(InsecureChannelCredentials.create(), "plaintext client?");
    }

    @Test
    void aClientWithAnotherCasCertificateIsRefusedAndLogged() throws IOException {
        ThrowawayPki.Identity intruder = ThrowawayPki.create(dir.resolve("other"), "other CA").issue("intruder");
        assertRefused(TlsChannelCredentials.newBuilder().keyManager(intruder.cert().toFile(), intruder.key().toFile())
                .trustManager(pki.caFile().toFile()).build(), "refused connection");
    }

    @Test
    void aClientWithoutACertificateIsRefusedAndLogged() throws IOException {
        assertRefused(TlsChannelCredentials.newBuilder().trustManager(pki.caFile().toFile()).build(), "refused connection");
    }

    @Test
    void aClientRefusesAServerWhoseCertificateIsNotFromItsCa() {
        ThrowawayPki other = ThrowawayPki.create(dir.resolve("client-other"), "client's CA");
        ThrowawayPki.Identity client = other.issue("client");
        ClusterTls tls = ClusterTls.fromPem(client.cert(), client.key(), client.ca());
        assertThatThrownBy(() -> describe(GrpcTls.channel(tls))).isInstanceOf(StatusRuntimeException.class);
    }

    /**
     * Rotating a node's certificate in place: a half-done rotation (the new certificate beside the old key) is not
     * taken and is logged; once the key follows, new connections get the new certificate, from the same server.
     */
    @Test
    void aRotatedCertificateIsPresentedToNewConnectionsWithoutARestart() throws Exception {
        ThrowawayPki.Identity before = pki.issue("node-before"), after = pki.issue("node-after"), client = pki.issue("rotation-client");
        Path live = Files.createDirectories(dir.resolve("live"));
        Path cert = Files.copy(before.cert(), live.resolve("node.pem")), key = Files.copy(before.key(), live.resolve("node.key"));
        ClusterTls tls = ClusterTls.fromPem(cert, key, before.ca()).withReloadPeriod(Duration.ofMillis(100));
        Server rotating = describing(tls, "rotating server", "rotating");
        try {
            assertThat(presentedSubject(rotating, client)).contains("CN=node-before");
            replace(cert, after.cert());
            await().atMost(Duration.ofSeconds(30)).until(() -> stderr.toString(StandardCharsets.UTF_8).contains("not usable yet"));
            assertThat(presentedSubject(rotating, client)).as("a certificate without its key is not taken").contains("CN=node-before");
            replace(key, after.key());
            await().atMost(Duration.ofSeconds(30)).until(() -> presentedSubject(rotating, client).contains("CN=node-after"));
            assertThat(stderr.toString(StandardCharsets.UTF_8)).contains("re-read " + cert);
        } finally {
            rotating.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Replaces {@code target} by {@code source} as a rotation should, in one rename (a reader never sees it missing
     * or half-written), its time a second later than before (coarse file clocks).
     */
    private static void replace(Path target, Path source) throws IOException {
        FileTime was = Files.getLastModifiedTime(target);
        Path next = Files.copy(source, target.resolveSibling(target.getFileName() + ".next"), StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(next, FileTime.fromMillis(was.toMillis() + 1000));
        Files.move(next, target, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The subject of the certificate the server presents to a new connection (a client of the cluster CA). */
    private static String presentedSubject(Server server, ThrowawayPki.Identity client) throws IOException {
        ChannelCredentials credentials = TlsChannelCredentials.newBuilder()
                .keyManager(client.cert().toFile(), client.key().toFile()).trustManager(client.ca().toFile()).build();
        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + server.getPort(), credentials).build();
        try {
            AtomicReference<SSLSession> session = new AtomicReference<>();
            NodeDescription answer = ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .withInterceptors(new ClientInterceptor() {
                        @Override
                        public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
                            ClientCall<Q, A> call = next.newCall(method, options);
                            return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                                @Override
                                public void start(Listener<A> listener, Metadata headers) {
                                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                                        @Override
                                        public void onHeaders(Metadata answerHeaders) { // the stream is on its connection by now
                                            session.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                                            super.onHeaders(answerHeaders);
                                        }
                                    }, headers);
                                }
                            };
                        }
                    }).describe(DescribeRequest.getDefaultInstance());
            assertThat(answer.getNodeName()).isEqualTo("rotating");
            return ((X509Certificate) session.get().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void startupChecksNameTheFileAndTheProblem() throws IOException {
        ThrowawayPki.Identity a = pki.issue("a");
        ThrowawayPki.Identity b = pki.issue("b");
        assertThatThrownBy(() -> ClusterTls.fromPem(a.cert(), b.key(), a.ca()))
                .hasMessageContaining("--tls-key " + b.key()).hasMessageContaining("is not the private key of --tls-cert");
        ThrowawayPki other = ThrowawayPki.create(dir.resolve("check-other"), "check CA");
        assertThatThrownBy(() -> ClusterTls.fromPem(a.cert(), a.key(), other.caFile()))
                .hasMessageContaining("--tls-cert " + a.cert()).hasMessageContaining("is not signed by the CA in --tls-ca");
        Path pkcs1 = dir.resolve("pkcs1.key");
        Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        assertThatThrownBy(() -> ClusterTls.fromPem(a.cert(), pkcs1, a.ca())).hasMessageContaining("found a PKCS#1 key");
        assertThatThrownBy(() -> ClusterTls.fromPem(dir.resolve("missing.pem"), a.key(), a.ca()))
                .hasMessageContaining("--tls-cert " + dir.resolve("missing.pem")).hasMessageContaining("cannot read");
        assertThatThrownBy(() -> ClusterTls.fromPem(a.key(), a.key(), a.ca())).hasMessageContaining("--tls-cert " + a.key() + ": not a PEM X.509 certificate");
    }

    @Test
    void theThrowawayCaWritesKeysReadableByTheirOwnerOnly() throws IOException {
        ThrowawayPki.Identity id = pki.issue("private");
        assertThat(Files.getPosixFilePermissions(id.key()))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        assertThat(Files.readString(id.key())).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Files.readString(id.cert())).startsWith("-----BEGIN CERTIFICATE-----");
    }

    private static NodeDescription describe(ChannelCredentials credentials) {
        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + server.getPort(), credentials).build();
        try {
            return ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).describe(DescribeRequest.getDefaultInstance());
        } finally {
            channel.shutdownNow();
        }
    }

    private static void assertRefused(ChannelCredentials credentials, String logged) {
        long before = refusals();
        assertThatThrownBy(() -> describe(credentials)).isInstanceOf(StatusRuntimeException.class);
        await().atMost(Duration.ofSeconds(30)).until(() -> refusals() > before);
        assertThat(stderr.toString(StandardCharsets.UTF_8)).contains(logged);
    }

    private static long refusals() {
        return stderr.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("test server: refused connection from /127.0.0.1:")).count();
    }

    /** Copies what the loggers write to stderr into the buffer the tests read, still showing it. */
    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a, b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int c) throws IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) throws IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}
