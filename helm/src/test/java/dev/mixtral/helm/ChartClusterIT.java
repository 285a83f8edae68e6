package dev.mixtral.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.charset.StandardCharsets;
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
 * chart whose commands, env, placement, seeds or ports are wrong fails here. (Cluster bootstrap mode:
 * {@link ChartBootstrapIT}.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChartClusterIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROMPT = "Once upon a time";

    private RenderedCluster cluster;

    @BeforeAll
    void startTheRenderedCluster() throws Exception {
        cluster = RenderedCluster.render("chart-cluster", Map.of()).start((pod, env) -> {});
    }

    @AfterAll
    void stopAll() {
        if (cluster != null) cluster.close();
    }

    @Test
    @Order(1)
    void aCompletionThroughTheApiServiceEqualsTheSingleProcessOutput() throws Exception {
        String clusterText = cluster.complete(PROMPT, 12, 0.8, 11);
        assertThat(clusterText).isNotEmpty().isEqualTo(cluster.completeInThisProcess(PROMPT, 12, 0.8, 11));
    }

    @Test
    @Order(2)
    void everyNodeHoldsWhatItsOrdinalPlacesOnItAndEveryExpertIsCoveredOnce() throws Exception {
        int[] holders = new int[8];
        for (LocalPod p : cluster.pods.subList(0, RenderedCluster.NODES)) {
            int port = ChartRenderTest.containerPort(p.container, "metrics");
            String metrics = cluster.get("http://" + p.ip + ":" + port + "/metrics");
            Set<Integer> experts = new TreeSet<>();
            for (String line : metrics.split("\n")) {
                if (line.startsWith("mixtral_node_expert_tokens_total{")) experts.add(Integer.parseInt(line.replaceAll(".*expert=\"(\\d+)\".*", "$1")));
            }
            assertThat(experts).as("%s's experts", p.name).isNotEmpty();
            for (int e : experts) holders[e]++;
        }
        assertThat(holders).containsOnly(RenderedCluster.REPLICATION);
    }

    @Test
    @Order(4) // after requests: labelled series appear with their first observation
    void theDashboardReadsOnlyMetricsTheProcessesExport() throws Exception {
        LocalPod coordinator = cluster.coordinator();
        StringBuilder exported = new StringBuilder(cluster.get("http://" + coordinator.ip + ":" + ChartRenderTest.containerPort(coordinator.container, "http") + "/metrics"));
        LocalPod node = cluster.pods.getFirst();
        exported.append(cluster.get("http://" + node.ip + ":" + ChartRenderTest.containerPort(node.container, "metrics") + "/metrics"));
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
        Pod test = Chart.testPod(null, cluster.values);
        Container c = test.getSpec().getContainers().getFirst();
        Map<String, String> env = Kubelet.resolveEnv(c, new Kubelet.PodFacts(test.getMetadata().getName(), Chart.NAMESPACE, "127.0.0.3", Map.of()));
        env.replaceAll((k, v) -> LocalPod.localize(v, cluster.hosts, Map.of()));
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
}
