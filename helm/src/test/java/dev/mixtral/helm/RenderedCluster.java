package dev.mixtral.helm;

import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A release of the chart run as local processes: rendered with the tiny synthetic model on a hostPath, free ports as
 * the chart's ports, 2 expert-node pods (each expert on one) and 1 coordinator pod, every pod started at once from its
 * rendered spec on its own loopback address standing in for its pod IP and DNS name (see {@link LocalPod}), then
 * awaited through its own startup and readiness probes. Closing it stops every pod as the kubelet would.
 */
final class RenderedCluster implements AutoCloseable {
    static final int NODES = 2;
    static final int REPLICATION = 1;
    private static final String COORDINATOR_IP = "127.0.0.2";

    final Path work;
    final Path model;
    final Map<String, Object> values;
    final Chart.Rendered rendered;
    /** DNS name → loopback address of every pod and Service the processes may be told about. */
    final Map<String, String> hosts = new LinkedHashMap<>();
    /** The expert-node pods by ordinal, then the coordinator. */
    final List<LocalPod> pods = new ArrayList<>();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Thread cleanup = new Thread(this::close, "rendered-cluster-cleanup");
    private LocalPod coordinator;

    private RenderedCluster(Path work, Path model, Map<String, Object> values, Chart.Rendered rendered) {
        this.work = work;
        this.model = model;
        this.values = values;
        this.rendered = rendered;
    }

    /** The facts and resolved environment of a pod about to start, which a test may change (e.g. the discovery method). */
    interface EnvChange extends BiConsumer<Kubelet.PodFacts, Map<String, String>> {}

    /**
     * Lays out the image and the model and renders with {@code extraValues} over the test's values; nothing runs yet.
     *
     * @param name under target/: the pods' logs stay there for a failure's diagnosis
     */
    static RenderedCluster render(String name, Map<String, Object> extraValues) throws IOException {
        Path work = Path.of("target", name).toAbsolutePath();
        Image.deleteQuietly(work);
        Files.createDirectories(work);
        Path modelDir = Files.createDirectories(work.resolve("host-models"));
        Path model = modelDir.resolve("tiny-q8.gguf");
        SyntheticModel.writeGguf(SynthSpec.preset("tiny"), GgmlType.Q8_0, 7, model, false);

        Map<String, Object> values = Chart.sets(
                "model.source", "hostPath", "model.hostPath.path", modelDir.toString(), "model.path", "/models/tiny-q8.gguf",
                "expertNodes.count", NODES, "expertNodes.replicationFactor", REPLICATION, "coordinator.replicas", 1,
                "coordinator.waitTimeout", "5m", "coordinator.nodeWarmupCalls", 20,
                // 2 shared cores: one compute thread and a serial collector per process keep the JVMs from starving each other
                "expertNodes.threads", 1, "coordinator.threads", 1,
                "expertNodes.javaOpts", "-XX:+UseSerialGC -Xmx256m", "coordinator.javaOpts", "-XX:+UseSerialGC -Xmx512m",
                "ports.http", freePort(), "ports.grpcApi", freePort(), "ports.cluster", freePort(),
                "ports.expertGrpc", freePort(), "ports.nodeMetrics", freePort(), "ports.management", freePort());
        values.putAll(extraValues);
        return new RenderedCluster(work, model, values, Chart.render(null, values));
    }

    /**
     * Starts every pod at once, {@code change} applied to each pod's environment; returns once every pod passed its
     * startup and readiness probes and its liveness probe. On failure every pod is stopped.
     */
    RenderedCluster start(EnvChange change) throws Exception {
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            startPods(Image.layOut(work.resolve("image")), change);
        } catch (Exception | AssertionError e) {
            close();
            throw e;
        }
        return this;
    }

    private void startPods(Image image, EnvChange change) throws Exception {
        StatefulSet nodes = rendered.one(StatefulSet.class, "-node");
        Deployment coord = rendered.one(Deployment.class, "-coordinator");
        String headless = rendered.one(Service.class, "-nodes").getMetadata().getName();
        String domain = "." + Chart.NAMESPACE + ".svc.cluster.local";
        // most specific names first: a pod's FQDN before anything that is a prefix of it
        for (int i = 0; i < NODES; i++) hosts.put(nodes.getMetadata().getName() + "-" + i + "." + headless + domain, nodeIp(i));
        hosts.put(apiService().getMetadata().getName() + domain, COORDINATOR_IP); // the API Service: its one endpoint is the coordinator pod

        for (int i = 0; i < NODES; i++) {
            pods.add(LocalPod.start(image, nodes.getSpec().getTemplate().getSpec(), nodePod(i), hosts, work, change));
        }
        coordinator = LocalPod.start(image, coord.getSpec().getTemplate().getSpec(), coordinatorPod(), hosts, work, change);
        pods.add(coordinator);
        long start = System.nanoTime();
        for (LocalPod p : pods) {
            awaitProbe(p, p.container.getStartupProbe(), "startup");
            System.err.printf("[%s] %s started after %.1f s%n", work.getFileName(), p.name, (System.nanoTime() - start) / 1e9);
        }
        for (LocalPod p : pods) awaitProbe(p, p.container.getReadinessProbe(), "readiness");
        for (LocalPod p : pods) assertThat(p.probe(p.container.getLivenessProbe(), http)).as("%s liveness", p.name).isTrue();
    }

    /** Expert-node pod {@code ordinal} as its StatefulSet creates it, on its loopback address. */
    Kubelet.PodFacts nodePod(int ordinal) {
        return Kubelet.statefulSetPod(rendered.one(StatefulSet.class, "-node"), ordinal, nodeIp(ordinal));
    }

    Kubelet.PodFacts coordinatorPod() {
        return Kubelet.deploymentPod(rendered.one(Deployment.class, "-coordinator"), "7d9f-x2", COORDINATOR_IP);
    }

    /** The loopback address standing in for expert-node pod {@code ordinal}'s IP. */
    static String nodeIp(int ordinal) {
        return "127.0.0." + (10 + ordinal);
    }

    LocalPod coordinator() {
        return coordinator;
    }

    Service apiService() {
        return rendered.all(Service.class).stream().filter(s -> !"None".equals(s.getSpec().getClusterIP())).findFirst().orElseThrow();
    }

    /** The text of a completion asked through the API Service (its one endpoint: the coordinator pod). */
    String complete(String prompt, int maxTokens, double temperature, long seed) throws IOException, InterruptedException {
        int port = ChartRenderTest.resolve(coordinator.container, ChartRenderTest.port(apiService(), "http").getTargetPort());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        String body = json.createObjectNode().put("prompt", prompt).put("max_tokens", maxTokens).put("temperature", temperature).put("seed", seed).toString();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + COORDINATOR_IP + ":" + port + "/v1/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofMinutes(3))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json.readTree(r.body()).path("choices").path(0).path("text").asText();
    }

    /** The same completion in this JVM, everything in one process: {@code generate --json}'s text. */
    String completeInThisProcess(String prompt, int maxTokens, double temperature, long seed) throws IOException {
        List<String> args = List.of("generate", "--model", model.toString(), "--prompt", prompt, "--max-tokens", Integer.toString(maxTokens),
                "--temperature", Double.toString(temperature), "--seed", Long.toString(seed), "--json");
        String out = runInThisProcess(args);
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.substring(out.indexOf('{'))).path("text").asText();
    }

    private static synchronized String runInThisProcess(List<String> args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.out;
        System.setOut(new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(dev.mixtral.cli.Main.run(args.toArray(String[]::new))).as("single-process %s", args.getFirst()).isZero();
        } finally {
            System.setOut(saved);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    String get(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(url).isEqualTo(200);
        return r.body();
    }

    String log(LocalPod pod) {
        try {
            return Files.readString(pod.log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void awaitProbe(LocalPod pod, Probe probe, String kind) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!pod.probe(probe, http)) {
            if (!pod.alive()) throw new AssertionError(pod.name + " exited before its " + kind + " probe passed:\n" + pod.logTail());
            if (System.nanoTime() > deadline) throw new AssertionError(pod.name + ": " + kind + " probe still failing after 5 min:\n" + pod.logTail());
            Thread.sleep(250);
        }
    }

    /** A port free on every address (the pods bind it on their own loopback address, the coordinator's API on 0.0.0.0). */
    private static int freePort() {
        return dev.mixtral.cli.LocalCluster.freePort();
    }

    /**
     * Stops every pod (SIGTERM, then SIGKILL after the grace period), all at once as when the release is
     * uninstalled: one after another, each member would leave the cluster in turn, seconds each. Idempotent.
     */
    @Override
    public synchronized void close() {
        for (LocalPod p : pods) p.terminate();
        for (LocalPod p : pods) p.close();
        pods.clear();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // already shutting down: this is the hook
        }
    }
}
