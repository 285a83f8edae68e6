package dev.mixtral.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.cluster.ClusterJoin;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The chart's cluster bootstrap mode forms one working cluster: the pods of a {@code cluster.mode=bootstrap}
 * render (their commands, args and env as rendered: selector, required contact points, management host from the
 * pod IP, management port) started all at once as local processes. There is no Kubernetes API server here, so one
 * thing is swapped, and only that: the discovery method, {@code kubernetes-api} → {@code config}, given as contact
 * points what the kubernetes-api discovery would list: the pods the rendered selector matches, each at its pod IP
 * and container port named {@code management}. The processes must form a single cluster (every member reports the
 * same members; exactly one founded it, the lowest contact point, as the bootstrap's rule says) and answer a
 * completion equal to the single-process output.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChartBootstrapIT {
    private static final String PROMPT = "Once upon a time";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RenderedCluster cluster;
    private final List<String> contactPoints = new ArrayList<>();

    @BeforeAll
    void startTheRenderedPodsAtOnce() throws Exception {
        cluster = RenderedCluster.render("chart-bootstrap", Chart.sets("cluster.mode", "bootstrap", "cluster.bootstrap.requiredContactPoints", 2));
        contactPoints.addAll(kubernetesApiDiscovery());
        cluster.start((pod, env) -> {
            assertThat(env).as("%s as rendered", pod.name()).containsEntry("MIXTRAL_CLUSTER_BOOTSTRAP", "kubernetes-api");
            env.put("MIXTRAL_CLUSTER_BOOTSTRAP", "config");
            env.put("MIXTRAL_BOOTSTRAP_CONTACT_POINTS", String.join(",", contactPoints));
        });
    }

    @AfterAll
    void stopAll() {
        if (cluster != null) cluster.close();
    }

    private static Set<String> upMembers(JsonNode seedNodes) {
        Set<String> members = new TreeSet<>();
        for (JsonNode m : seedNodes.path("seedNodes")) if (m.path("status").asText().equals("Up")) members.add(m.path("node").asText());
        return members;
    }

    @Test
    void everyPodReportsTheSameSingleClusterFoundedByTheLowestContactPoint() throws Exception {
        assertThat(contactPoints).hasSize(cluster.pods.size());
        Set<String> firstView = null;
        for (LocalPod p : cluster.pods) {
            int management = ChartRenderTest.containerPort(p.container, ClusterJoin.Bootstrap.MANAGEMENT_PORT_NAME);
            String url = "http://" + p.ip + ":" + management + "/bootstrap/seed-nodes";
            // a node may still be joining when the coordinator is ready (it needs the node's experts, not its Up): its
            // own view settles within a few gossip rounds; a second cluster would never show all the pods Up
            JsonNode seeds = Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                    .until(() -> JSON.readTree(cluster.get(url)), view -> upMembers(view).size() >= cluster.pods.size());
            Set<String> members = upMembers(seeds);
            assertThat(members).as("%s's members", p.name).hasSize(cluster.pods.size()).contains(seeds.path("selfNode").asText());
            if (firstView == null) firstView = members;
            assertThat(members).as("%s sees the cluster the first pod sees", p.name).isEqualTo(firstView);
        }

        String lowest = new ClusterJoin.Bootstrap(ClusterJoin.Discovery.CONFIG, "x", null, contactPoints, 1, "h", 1).lowestContactPoint();
        List<String> founders = new ArrayList<>();
        for (LocalPod p : cluster.pods) {
            String log = cluster.log(p);
            if (log.contains("founding the cluster")) founders.add(p.ip);
            else assertThat(log).as("%s joined", p.name).contains("cluster bootstrap: joining the cluster through");
        }
        assertThat(founders).as("pods that founded a cluster").containsExactly(lowest.substring(0, lowest.lastIndexOf(':')));
    }

    @Test
    void aCompletionThroughTheApiServiceEqualsTheSingleProcessOutput() throws Exception {
        String clusterText = cluster.complete(PROMPT, 12, 0.8, 11);
        assertThat(clusterText).isNotEmpty().isEqualTo(cluster.completeInThisProcess(PROMPT, 12, 0.8, 11));
    }

    /**
     * What kubernetes-api discovery returns for the release's pods: each pod whose labels the rendered selector
     * matches and whose container has a port named {@code management}, at its pod IP (the loopback address standing
     * in for it) and that port.
     */
    private List<String> kubernetesApiDiscovery() {
        StatefulSet nodes = cluster.rendered.one(StatefulSet.class, "-node");
        Deployment coordinator = cluster.rendered.one(Deployment.class, "-coordinator");
        Map<String, String> selector = new HashMap<>();
        String terms = ChartRenderTest.env(nodes.getSpec().getTemplate().getSpec().getContainers().getFirst()).get("MIXTRAL_BOOTSTRAP_SELECTOR");
        for (String term : terms.split(",")) selector.put(term.split("=", 2)[0], term.split("=", 2)[1]);
        Map<Kubelet.PodFacts, PodSpec> pods = new LinkedHashMap<>();
        for (int i = 0; i < RenderedCluster.NODES; i++) pods.put(cluster.nodePod(i), nodes.getSpec().getTemplate().getSpec());
        pods.put(cluster.coordinatorPod(), coordinator.getSpec().getTemplate().getSpec());
        List<String> found = new ArrayList<>();
        pods.forEach((pod, spec) -> {
            if (!pod.labels().entrySet().containsAll(selector.entrySet())) return;
            spec.getContainers().stream().flatMap(c -> c.getPorts().stream())
                    .filter(port -> ClusterJoin.Bootstrap.MANAGEMENT_PORT_NAME.equals(port.getName()))
                    .forEach(port -> found.add(pod.podIp() + ":" + port.getContainerPort()));
        });
        return found;
    }
}
