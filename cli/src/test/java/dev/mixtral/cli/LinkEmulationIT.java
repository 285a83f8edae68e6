package dev.mixtral.cli;

import dev.mixtral.cli.net.DelayProxy;
import dev.mixtral.cli.net.MemoryCgroup;
import dev.mixtral.cli.net.NetworkNamespace;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The cluster over emulated links: each expert node sits behind a {@link DelayProxy} (2 ms each way) and
 * advertises the proxy's address. Where this machine lets the test create a network namespace, the nodes run
 * in it, as on another host: everything between them and the coordinator crosses a veth pair rate-limited
 * to 100 Mbit/s by the kernel ({@code tbf}); elsewhere the proxy limits the rate on loopback. Where memory
 * cgroups can be created, each node JVM runs under a memory limit. Scoring and greedy generation through it
 * give the in-process output bit for bit. Without namespaces or cgroups their tests are skipped (assumptions
 * naming the reason), never passed.
 */
class LinkEmulationIT {
    private static final Path MODEL = ClusterSupport.Q8;
    private static final long NODE_LIMIT = 512L << 20;
    private static final List<String> SHARES = List.of("0-3", "4-7");

    private static final List<Process> nodes = new ArrayList<>();
    private static final List<DelayProxy> proxies = new ArrayList<>();
    private static final List<MemoryCgroup> groups = new ArrayList<>();
    private static final StringBuilder noCgroups = new StringBuilder();
    private static final StringBuilder noNamespace = new StringBuilder();
    private static Optional<NetworkNamespace> namespace = Optional.empty();
    private static int[] tokens;
    private static float[] expectedLogits, clusterLogits;
    private static int[] expectedGenerated, clusterGenerated;

    @BeforeAll
    static void runThroughProxies() throws Exception {
        tokens = new Random(22).ints(24, 3, 32000).toArray();
        tokens[0] = 1;
        int[] prompt = {1, 415, 2936, 9060};
        try (MixtralModel local = MixtralModel.local(MODEL)) {
            Generator g = new Generator(local.transformer(), KvCache.Type.F32, 256);
            expectedLogits = g.score(tokens);
            expectedGenerated = g.generate(prompt, 8, SamplingParams.GREEDY);
        }
        long pid = ProcessHandle.current().pid();
        namespace = NetworkNamespace.create("mxl" + pid % 100_000_000, (int) (pid % 250) + 1, 100, noNamespace);
        // the nodes' host: the namespace's end of the link, or loopback; the coordinator's: our end of it
        String nodeHost = namespace.map(NetworkNamespace::namespaceAddress).orElse("127.0.0.1");
        String coordinatorHost = namespace.map(NetworkNamespace::hostAddress).orElse("127.0.0.1");
        long proxyRate = namespace.isPresent() ? 0 : 100_000_000;   // with a namespace the kernel limits the rate
        int seedPort = ClusterSupport.freePort();
        for (int i = 0; i < SHARES.size(); i++) {
            int nodePort = ClusterSupport.freePort();
            DelayProxy proxy = DelayProxy.start(0, new InetSocketAddress(nodeHost, nodePort), 2_000_000, proxyRate);
            proxies.add(proxy);
            List<String> args = new ArrayList<>(i == 0 ? List.of("--cluster-port", Integer.toString(seedPort))
                    : List.of("--seeds", nodeHost + ":" + seedPort));
            args.addAll(List.of("--port", Integer.toString(nodePort), "--advertise", proxy.address(), "--threads", "1", "--metrics-port", "-1"));
            ProcessBuilder pb = LocalCluster.nodeProcess(MODEL, SHARES.get(i), nodeHost, args);
            // into the namespace innermost: `ip netns exec` mounts the namespace's own /sys, hiding the cgroups
            namespace.ifPresent(ns -> pb.command(ns.wrap(pb.command())));
            Optional<MemoryCgroup> group = noCgroups.isEmpty()
                    ? MemoryCgroup.create("mixtral-link-it-" + ProcessHandle.current().pid() + "-" + i, NODE_LIMIT, noCgroups) : Optional.empty();
            if (group.isPresent()) {
                groups.add(group.get());
                // the shell joins the group, then becomes the JVM: every page the node touches is charged to it
                List<String> wrapped = new ArrayList<>(List.of("sh", "-c", "echo $$ > '" + group.get().procs() + "' && exec \"$@\"", "sh"));
                wrapped.addAll(pb.command());
                pb.command(wrapped);
            }
            Process p = pb.start();
            nodes.add(p);
            pump("node-" + i, p);
        }
        var settings = new dev.mixtral.coordinator.Coordinator.Settings(List.of(nodeHost + ":" + seedPort), coordinatorHost, 0,
                Duration.ofSeconds(60), dev.mixtral.model.tensor.GgmlType.F32, 20);
        try (var remote = ClusterSupport.Remote.open(MODEL, settings)) {
            Generator g = remote.generator();
            clusterLogits = g.score(tokens);
            clusterGenerated = g.generate(prompt, 8, SamplingParams.GREEDY);
        }
    }

    @AfterAll
    static void stop() throws InterruptedException {
        // killed, not asked to leave: the cluster is thrown away, and leaving takes each node seconds
        for (Process p : nodes) p.destroyForcibly();
        for (Process p : nodes) p.waitFor(10, TimeUnit.SECONDS);
        proxies.forEach(DelayProxy::close);
        groups.forEach(MemoryCgroup::close);
        namespace.ifPresent(NetworkNamespace::close);
    }

    @Test
    void nodesBehindDelayingProxiesGiveTheInProcessOutput() {
        ClusterSupport.assertSameLogits(clusterLogits, expectedLogits, 32000);
        assertThat(clusterGenerated).containsExactly(expectedGenerated);
        for (DelayProxy p : proxies) {
            // the coordinator reached every node through its proxy (the advertised address), both ways
            assertThat(p.forwardedBytes()).as("bytes through %s", p.address()).isGreaterThan(10_000);
        }
    }

    @Test
    void nodesRanOnAnotherHostBehindARateLimitedLink() throws IOException {
        assumeTrue(namespace.isPresent(), () -> "no network namespace here: " + noNamespace);
        for (Process node : nodes) {
            assertThat(NetworkNamespace.inOtherNamespace(node.pid())).as("node pid %d in its own namespace", node.pid()).isTrue();
        }
        long sent = namespace.get().bytesSentIntoNamespace();
        System.out.printf("[link figures] %d bytes crossed the rate-limited veth into the nodes' namespace%n", sent);
        // the coordinator's requests (membership, warm-up, every layer call's activations) went over the link
        assertThat(sent).isGreaterThan(proxies.stream().mapToLong(DelayProxy::forwardedBytes).sum() / 4);
    }

    @Test
    void nodesUnderMemoryLimitsStayWithinThem() throws IOException {
        assumeTrue(groups.size() == SHARES.size(), () -> "no memory cgroups here: " + noCgroups);
        for (int i = 0; i < groups.size(); i++) {
            MemoryCgroup g = groups.get(i);
            long peak = g.peakBytes();
            System.out.printf("[link figures] node-%d peak %s of a %s limit%n", i, ClusterSupport.mib(peak), ClusterSupport.mib(g.limit()));
            // the node ran in its group (a JVM's footprint is far above this) and its answers were all correct (the other test)
            assertThat(peak).isGreaterThan(32L << 20).isLessThanOrEqualTo(g.limit());
            assertThat(nodes.get(i).isAlive()).isTrue();
        }
    }

    private static void pump(String name, Process p) {
        Thread.ofPlatform().daemon().name(name + "-output").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) System.out.println("[" + name + "] " + line);
            } catch (IOException e) {
                // the process is gone
            }
        });
    }
}
