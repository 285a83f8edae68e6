package dev.mixtral.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The chart forms a working cluster: the rendered pod specs (entry point, args, env, volumes) of the
 * coordinator and of each expert-node ordinal run as local processes of this project, each pod on its own
 * loopback address standing in for its DNS name, the chart's ports unchanged (free ones chosen as values).
 * They must pass their own readiness probes and answer a completion through the API Service that equals
 * the single-process output for the same seed; the helm test pod's script must pass against it too. A
 * chart whose commands, env, placement, seeds or ports are wrong fails here.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChartClusterIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int NODES = 2;
    private static final int REPLICATION = 1;
    private static final String PROMPT = "Once upon a time";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<LocalPod> pods = new ArrayList<>();
    private final Thread cleanup = new Thread(this::stopAll, "chart-cluster-cleanup");
    private Path work;
    private Image image;
    private Path model;
    private Map<String, Object> values;
    private Chart.Rendered rendered;
    private final Map<String, String> hosts = new LinkedHashMap<>();
    private LocalPod coordinator;

    @BeforeAll
    void startTheRenderedCluster() throws Exception {
        // under target/: the pods' logs stay there for a failure's diagnosis
        work = Path.of("target", "chart-cluster").toAbsolutePath();
        Image.deleteQuietly(work);
        Files.createDirectories(work);
        Runtime.getRuntime().addShutdownHook(cleanup);
        image = Image.layOut(work.resolve("image"));
        Path modelDir = Files.createDirectories(work.resolve("host-models"));
        model = modelDir.resolve("tiny-q8.gguf");
        SyntheticModel.writeGguf(SynthSpec.preset("tiny"), GgmlType.Q8_0, 7, model, false);

        values = Chart.sets(
                "model.source", "hostPath", "model.hostPath.path", modelDir.toString(), "model.path", "/models/tiny-q8.gguf",
                "expertNodes.count", NODES, "expertNodes.replicationFactor", REPLICATION, "coordinator.replicas", 1,
                "coordinator.waitTimeout", "5m", "coordinator.nodeWarmupCalls", 20,
                // 2 shared cores: one compute thread and a serial collector per process keep four JVMs from starving each other
                "expertNodes.threads", 1, "coordinator.threads", 1,
                "expertNodes.javaOpts", "-XX:+UseSerialGC -Xmx256m", "coordinator.javaOpts", "-XX:+UseSerialGC -Xmx512m",
                "ports.http", freePort(), "ports.grpcApi", freePort(), "ports.cluster", freePort(),
                "ports.expertGrpc", freePort(), "ports.nodeMetrics", freePort());
        rendered = Chart.render(null, values);
        StatefulSet nodes = rendered.one(StatefulSet.class, "-node");
        Deployment coord = rendered.one(Deployment.class, "-coordinator");
        String headless = rendered.one(Service.class, "-nodes").getMetadata().getName();
        String domain = "." + Chart.NAMESPACE + ".svc.cluster.local";
        // most specific names first: a pod's FQDN before anything that is a prefix of it
        for (int i = 0; i < NODES; i++) hosts.put(nodes.getMetadata().getName() + "-" + i + "." + headless + domain, "127.0.0." + (10 + i));
        String api = rendered.all(Service.class).stream().filter(s -> !"None".equals(s.getSpec().getClusterIP())).findFirst().orElseThrow().getMetadata().getName();
        hosts.put(api + domain, "127.0.0.2"); // the API Service: its one endpoint is the coordinator pod

        for (int i = 0; i < NODES; i++) {
            pods.add(LocalPod.start(image, nodes.getSpec().getTemplate().getSpec(), Kubelet.statefulSetPod(nodes, i, "127.0.0." + (10 + i)), hosts, work));
        }
        coordinator = LocalPod.start(image, coord.getSpec().getTemplate().getSpec(), Kubelet.deploymentPod(coord, "7d9f-x2", "127.0.0.2"), hosts, work);
        pods.add(coordinator);
        long start = System.nanoTime();
        for (LocalPod p : pods) {
            awaitProbe(p, p.container.getStartupProbe(), "startup");
            System.err.printf("[chart cluster] %s started after %.1f s%n", p.name, (System.nanoTime() - start) / 1e9);
        }
        for (LocalPod p : pods) awaitProbe(p, p.container.getReadinessProbe(), "readiness");
        for (LocalPod p : pods) assertThat(p.probe(p.container.getLivenessProbe(), http)).as("%s liveness", p.name).isTrue();
    }

    @AfterAll
    void stopAll() {
        for (LocalPod p : pods) p.close();
        pods.clear();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // already shutting down: this is the hook
        }
    }

    @Test
    @Order(1)
    void aCompletionThroughTheApiServiceEqualsTheSingleProcessOutput() throws Exception {
        Service api = rendered.all(Service.class).stream().filter(s -> !"None".equals(s.getSpec().getClusterIP())).findFirst().orElseThrow();
        int port = ChartRenderTest.resolve(coordinator.container, ChartRenderTest.port(api, "http").getTargetPort());
        String body = JSON.createObjectNode().put("prompt", PROMPT).put("max_tokens", 12).put("temperature", 0.8).put("seed", 11).toString();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.2:" + port + "/v1/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofMinutes(3))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String clusterText = JSON.readTree(r.body()).path("choices").path(0).path("text").asText();

        String single = generateInThisProcess(List.of("generate", "--model", model.toString(), "--prompt", PROMPT, "--max-tokens", "12",
                "--temperature", "0.8", "--seed", "11", "--json"));
        String singleText = JSON.readTree(single.substring(single.indexOf('{'))).path("text").asText();
        assertThat(clusterText).isNotEmpty().isEqualTo(singleText);
    }

    @Test
    @Order(2)
    void everyNodeHoldsWhatItsOrdinalPlacesOnItAndEveryExpertIsCoveredOnce() throws Exception {
        int[] holders = new int[8];
        for (LocalPod p : pods.subList(0, NODES)) {
            int port = ChartRenderTest.containerPort(p.container, "metrics");
            String metrics = get("http://" + p.ip + ":" + port + "/metrics");
            Set<Integer> experts = new TreeSet<>();
            for (String line : metrics.split("\n")) {
                if (line.startsWith("mixtral_node_expert_tokens_total{")) experts.add(Integer.parseInt(line.replaceAll(".*expert=\"(\\d+)\".*", "$1")));
            }
            assertThat(experts).as("%s's experts", p.name).isNotEmpty();
            for (int e : experts) holders[e]++;
        }
        assertThat(holders).containsOnly(REPLICATION);
    }

    @Test
    @Order(4) // after requests: labelled series appear with their first observation
    void theDashboardReadsOnlyMetricsTheProcessesExport() throws Exception {
        StringBuilder exported = new StringBuilder(get("http://127.0.0.2:" + ChartRenderTest.containerPort(coordinator.container, "http") + "/metrics"));
        LocalPod node = pods.getFirst();
        exported.append(get("http://" + node.ip + ":" + ChartRenderTest.containerPort(node.container, "metrics") + "/metrics"));
        Set<String> samples = new TreeSet<>();
        for (String line : exported.toString().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) samples.add(line.split("[{ ]")[0].replaceFirst("_(bucket|count|sum)$", ""));
        }
        JsonNode dashboard = JSON.readTree(Chart.dir().resolve("dashboards/mixtral-cluster.json").toFile());
        assertThat(samples).containsAll(Dashboard.metricNames(dashboard));
    }

    @Test
    @Order(3)
    void theHelmTestPodPasses() throws Exception {
        Pod test = Chart.testPod(null, values);
        Container c = test.getSpec().getContainers().getFirst();
        Map<String, String> env = Kubelet.resolveEnv(c, new Kubelet.PodFacts(test.getMetadata().getName(), Chart.NAMESPACE, "127.0.0.3", Map.of()));
        env.replaceAll((k, v) -> LocalPod.localize(v, hosts, Map.of()));
        ProcessBuilder pb = new ProcessBuilder(c.getCommand()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(4, TimeUnit.MINUTES)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("\"text\"");
        } finally {
            p.destroyForcibly();
        }
    }

    // ---- helpers ----

    private void awaitProbe(LocalPod pod, Probe probe, String kind) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!pod.probe(probe, http)) {
            if (!pod.alive()) throw new AssertionError(pod.name + " exited before its " + kind + " probe passed:\n" + pod.logTail());
            if (System.nanoTime() > deadline) throw new AssertionError(pod.name + ": " + kind + " probe still failing after 5 min:\n" + pod.logTail());
            Thread.sleep(250);
        }
    }

    /** The launcher's command run in this JVM, everything in one process (no seeds): its standard output. */
    private static synchronized String generateInThisProcess(List<String> args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.out;
        System.setOut(new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(dev.mixtral.cli.Main.run(args.toArray(String[]::new))).as("single-process generate").isZero();
        } finally {
            System.setOut(saved);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private String get(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(url).isEqualTo(200);
        return r.body();
    }

    /** A port free on every address (the pods bind it on their own loopback address, the coordinator's API on 0.0.0.0). */
    private static int freePort() {
        return dev.mixtral.cli.LocalCluster.freePort();
    }
}
