package dev.mixtral.cli;

import dev.mixtral.cluster.tls.ApiTls;
import dev.mixtral.server.api.ApiServer;
import dev.mixtral.server.api.GrpcApiServer;
import dev.mixtral.proto.v1.GenerateRequest;
import dev.mixtral.proto.v1.GenerationServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import dev.mixtral.server.api.ServerMetrics;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.TestData;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The HTTP API over HTTPS, with a certificate from a throwaway CA: a real HTTP client that trusts that
 * CA gets a completion; one that does not trust it, and one speaking plain HTTP, get nothing. The gRPC
 * API likewise over TLS.
 */
class ApiTlsTest {
    @TempDir
    static Path dir;

    static MixtralModel model;
    static InferenceEngine engine;
    static ApiServer server;
    static ThrowawayPki pki;

    @BeforeAll
    static void start() throws IOException {
        pki = ThrowawayPki.create(dir.resolve("ca"), "api test CA");
        ThrowawayPki.Identity api = pki.issue("api");
        model = MixtralModel.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"), LocalExperts::loadAll);
        engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 16, 1L << 30, 64, KvCache.Type.F32));
        server = new ApiServer(engine, model.tokenizer(), new ServerMetrics(), new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null),
                ApiTls.fromPem(api.cert(), api.key())).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (engine != null) engine.close();
        if (model != null) model.close();
    }

    @Test
    void aClientTrustingTheCaGetsACompletionOverHttps() throws Exception {
        HttpClient client = HttpClient.newBuilder().sslContext(trusting(pki.caFile())).connectTimeout(Duration.ofSeconds(30)).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port() + "/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"temperature\":0}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"text_completion\"").contains("\"completion_tokens\":4");
        assertThat(r.sslSession()).hasValueSatisfying(s -> assertThat(s.getProtocol()).startsWith("TLS"));
    }

    @Test
    void onJettyTooAStreamedCompletionComesOverHttpsAndAClientNotTrustingTheCaIsRefused() throws Exception {
        ThrowawayPki.Identity api = pki.issue("jetty-api");
        try (ApiServer jetty = new ApiServer(engine, model.tokenizer(), new ServerMetrics(), new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null),
                dev.mixtral.server.api.RequestLimits.DEFAULTS, ApiTls.fromPem(api.cert(), api.key()), dev.mixtral.server.api.HttpServerKind.JETTY).start()) {
            URI url = URI.create("https://127.0.0.1:" + jetty.port() + "/v1/completions");
            HttpClient client = HttpClient.newBuilder().sslContext(trusting(pki.caFile())).connectTimeout(Duration.ofSeconds(30)).build();
            HttpResponse<java.util.stream.Stream<String>> r = client.send(HttpRequest.newBuilder(url).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"temperature\":0,\"stream\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofLines());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
            java.util.List<String> events = r.body().filter(line -> line.startsWith("data: ")).toList();
            assertThat(events.size()).isBetween(3, 6); // text chunks (up to one per token), the finish chunk, [DONE]
            assertThat(events.get(events.size() - 2)).contains("\"finish_reason\":\"length\"");
            assertThat(events.getLast()).isEqualTo("data: [DONE]");
            assertThat(r.sslSession()).hasValueSatisfying(s -> assertThat(s.getProtocol()).startsWith("TLS"));

            HttpClient untrusting = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
            assertThatThrownBy(() -> untrusting.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + jetty.port() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString())).isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
        }
    }

    @Test
    void aClientNotTrustingTheCaIsRefused() {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build(); // the JDK's default CAs only
        assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }

    @Test
    void plainHttpGetsNoAnswer() {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
        assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/health"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
    }

    @Test
    void aKeyThatDoesNotGoWithTheCertificateIsAClearError() {
        ThrowawayPki.Identity a = pki.issue("a"), b = pki.issue("b");
        assertThatThrownBy(() -> ApiTls.fromPem(a.cert(), b.key()).bind(new java.net.InetSocketAddress("127.0.0.1", 0), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--api-tls-key " + b.key());
    }

    @Test
    void theGrpcApiIsServedOverTlsWithTheSameCertificate() throws Exception {
        ThrowawayPki.Identity api = pki.issue("grpc-api");
        try (GrpcApiServer grpc = new GrpcApiServer(engine, model.tokenizer(), new ServerMetrics(), "127.0.0.1", 0, () -> null,
                ApiTls.fromPem(api.cert(), api.key()))) {
            String target = "127.0.0.1:" + grpc.port();
            ManagedChannel tls = Grpc.newChannelBuilder(target, TlsChannelCredentials.newBuilder().trustManager(pki.caFile().toFile()).build()).build();
            ManagedChannel plain = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
            try {
                GenerateRequest request = GenerateRequest.newBuilder().setPrompt("Once upon a time").setMaxTokens(3).setTemperature(0).build();
                int tokens = 0;
                for (var it = GenerationServiceGrpc.newBlockingStub(tls).withDeadlineAfter(60, TimeUnit.SECONDS).generate(request); it.hasNext(); ) {
                    tokens += it.next().getTokenIdsCount();
                }
                assertThat(tokens).isEqualTo(3);
                assertThatThrownBy(() -> GenerationServiceGrpc.newBlockingStub(plain).withDeadlineAfter(30, TimeUnit.SECONDS).generate(request).hasNext())
                        .isInstanceOf(StatusRuntimeException.class);
            } finally {
                tls.shutdownNow();
                plain.shutdownNow();
            }
        }
    }

    static SSLContext trusting(Path ca) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(ca)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }
}
