package dev.mixtral.cli;

import dev.mixtral.cluster.tls.ClusterTls;
import dev.mixtral.coordinator.ExpertUnavailableException;
import dev.mixtral.coordinator.RemoteNode;
import dev.mixtral.model.Golden;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static dev.mixtral.cli.ClusterSupport.Q8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A cluster on mutual TLS, with its nodes as separate JVMs, each with its own certificate from a
 * throwaway CA: it computes exactly what one process does; a plaintext client, a client with another
 * CA's certificate and a node with another CA's certificate are all refused (the node's refusals
 * logged with the peer's address), and the refused node's experts are reported missing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTlsIT {
    static final int TOKENS = 16;
    /** Bound on a JVM's start (a generous one: the suite's machines may be shared). */
    static final Duration STARTUP = Duration.ofSeconds(240);

    @TempDir
    static Path dir;

    static ThrowawayPki pki;
    static final Queue<String> nodeLog = new ConcurrentLinkedQueue<>();
    static LocalCluster cluster;
    static ClusterSupport.Remote remote;

    @BeforeAll
    static void tlsCluster() {
        pki = ThrowawayPki.create(dir.resolve("ca"), "test CA");
        List<ThrowawayPki.Identity> nodes = List.of(pki.issue("node-0"), pki.issue("node-1"));
        ThrowawayPki.Identity coordinator = pki.issue("coordinator");
        cluster = LocalCluster.start(Q8, 8, 2, 1, "127.0.0.1", ClusterSupport.freePort(), List.of("--threads", "1"),
                i -> tlsArgs(nodes.get(i)), line -> {
                    System.out.println(line);
                    nodeLog.add(line);
                }).killOnClose();
        // JVMs start slowly on a busy machine: the coordinator's wait starts once the nodes are up
        await().atMost(STARTUP).until(() -> nodeLog.stream().filter(l -> l.contains("expert node ready")).count() == 2);
        remote = ClusterSupport.Remote.openCold(Q8, cluster, Duration.ofSeconds(30),
                ClusterTls.fromPem(coordinator.cert(), coordinator.key(), coordinator.ca()));
    }

    @AfterAll
    static void stop() {
        if (remote != null) remote.close();
        if (cluster != null) cluster.close();
    }

    static List<String> tlsArgs(ThrowawayPki.Identity id) {
        return List.of("--tls-cert", id.cert().toString(), "--tls-key", id.key().toString(), "--tls-ca", id.ca().toString());
    }

    @Test
    @Order(1)
    void computesExactlyWhatOneProcessComputes() {
        Golden.Case c = Golden.load("Q8_0").cases().getFirst();
        int[] expectedTokens;
        float[] expectedLogits;
        try (MixtralModel local = MixtralModel.local(Q8)) {
            Generator g = new Generator(local.transformer(), KvCache.Type.F32, 256);
            expectedTokens = g.generate(c.promptIds(), TOKENS, SamplingParams.GREEDY);
            expectedLogits = g.score(ClusterSupport.concat(c.promptIds(), expectedTokens));
        }
        Generator g = remote.generator();
        assertThat(g.generate(c.promptIds(), TOKENS, SamplingParams.GREEDY)).containsExactly(expectedTokens);
        ClusterSupport.assertSameLogits(g.score(ClusterSupport.concat(c.promptIds(), expectedTokens)), expectedLogits,
                remote.model().config().vocab());
        assertThat(remote.stats().layerCalls()).isPositive(); // the experts really ran on the nodes
    }

    @Test
    @Order(2)
    void refusesAPlaintextClientAndLogsItsAddress() {
        assertRefused(InsecureChannelCredentials.create(), "plaintext client");
    }

    @Test
    @Order(3)
    void refusesAClientWithAnotherCasCertificateAndLogsItsAddress() {
        ThrowawayPki other = ThrowawayPki.create(dir.resolve("other-ca"), "another CA");
        ThrowawayPki.Identity intruder = other.issue("intruder");
        ChannelCredentials credentials;
        try {
            // trusts the cluster's CA, so the only thing wrong is its own certificate
            credentials = TlsChannelCredentials.newBuilder().keyManager(intruder.cert().toFile(), intruder.key().toFile())
                    .trustManager(pki.caFile().toFile()).build();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertRefused(credentials, "foreign certificate");
    }

    @Test
    @Order(4)
    void aNodeWithAnotherCasCertificateCannotJoinAndItsExpertsAreReportedMissing() throws Exception {
        // node-1 (experts 4-7) goes; an intruder holding 4-7 with another CA's certificate tries to take its place
        cluster.kill(1);
        await().atMost(ClusterSupport.WAIT).until(() -> remote.coordinator().routingTable().missing().equals(new TreeSet<>(List.of(4, 5, 6, 7))));
        ThrowawayPki other = ThrowawayPki.create(dir.resolve("rogue-ca"), "rogue CA");
        ThrowawayPki.Identity rogue = other.issue("rogue");
        List<String> args = new java.util.ArrayList<>(List.of("--seeds", cluster.seeds(), "--threads", "1"));
        args.addAll(tlsArgs(rogue));
        Process p = LocalCluster.nodeProcess(Q8, "4-7", "127.0.0.1", args).start();
        try {
            Queue<String> rogueLog = new ConcurrentLinkedQueue<>();
            Thread pump = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        System.out.println("[rogue] " + line);
                        rogueLog.add(line);
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            });
            pump.setDaemon(true);
            pump.start();
            // the rogue is up and has been turned away by the TLS handshake, more than once
            await().atMost(STARTUP).until(() -> rogueLog.stream().filter(l -> l.contains("SSLHandshakeException")).count() >= 2);
            assertThat(rogueLog).anyMatch(l -> l.contains("expert node ready"));
            assertThat(remote.coordinator().refusedNodes()).isEmpty(); // never even a member: refused by TLS, not by the coordinator
            assertThat(remote.coordinator().routingTable().missing()).containsExactly(4, 5, 6, 7);
            assertThatThrownBy(() -> remote.coordinator().awaitReady(Duration.ofSeconds(3)))
                    .isInstanceOfSatisfying(ExpertUnavailableException.class, e -> assertThat(e.experts()).containsExactly(4, 5, 6, 7))
                    .hasMessageContaining("[4, 5, 6, 7]");
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** A call to node-0's ExpertService with {@code credentials} fails, and node-0 logs the refusal with this client's address. */
    private static void assertRefused(ChannelCredentials credentials, String what) {
        RemoteNode node = remote.coordinator().routingTable().nodes().stream()
                .filter(n -> n.experts().contains(0)).findFirst().orElseThrow();
        long before = refusals();
        ManagedChannel channel = Grpc.newChannelBuilder(node.address(), credentials).build();
        try {
            assertThatThrownBy(() -> ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .describe(DescribeRequest.getDefaultInstance()))
                    .as(what)
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.INTERNAL));
        } finally {
            channel.shutdownNow();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> refusals() > before);
        assertThat(nodeLog).anyMatch(l -> l.contains("refused connection from /127.0.0.1:"));
    }

    private static long refusals() {
        return nodeLog.stream().filter(l -> l.contains("expert node gRPC: refused connection from /127.0.0.1:")).count();
    }
}
