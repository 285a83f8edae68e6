package dev.mixtral.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.cli.LocalCluster;
import dev.mixtral.cluster.ClusterJoin;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The chart under the real Helm: strict lint, the values matrix rendered into Kubernetes types with no
 * unknown field, and the invariants a cluster depends on. Bad values fail with a message naming them.
 */
class ChartRenderTest {
    /** Mixtral 8x7B: 8 experts per layer (the chart's placement is checked against the project's rule for it). */
    private static final int EXPERTS = 8;

    static Stream<Arguments> matrix() {
        return Stream.of(
                Arguments.of("defaults", null),
                Arguments.of("eight-nodes", Chart.ciValues("eight-nodes")),
                Arguments.of("bootstrap", Chart.ciValues("bootstrap")),
                Arguments.of("monitoring", Chart.ciValues("monitoring")));
    }

    @Test
    void strictLintPasses() {
        var result = Chart.helm().lint().strict().call();
        assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void rendersIntoValidObjectsThatFormOneCluster(String name, Path values) {
        Chart.Rendered r = Chart.render(values);
        StatefulSet nodes = r.one(StatefulSet.class, "-node");
        Deployment coordinator = r.one(Deployment.class, "-coordinator");
        Service headless = r.one(Service.class, "-nodes");
        Service api = r.all(Service.class).stream().filter(s -> !"None".equals(s.getSpec().getClusterIP())).findFirst().orElseThrow();

        assertEveryExpertHeldReplicationFactorTimes(nodes);
        assertSeedsArePodsOfTheHeadlessService(nodes, coordinator, headless);
        assertPortsAgree(nodes, coordinator, headless, api);
        assertProbesSecurityAndTermination(nodes.getSpec().getTemplate(), "expert-node");
        assertProbesSecurityAndTermination(coordinator.getSpec().getTemplate(), "coordinator");
        assertSelectorsMatch(r, nodes, coordinator);
        assertClusterModeConsistent(r, nodes, coordinator, headless);
        for (HasMetadata o : r.objects()) {
            assertThat(o.getMetadata().getName()).as("name of %s", o.getKind()).hasSizeLessThanOrEqualTo(63).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
            assertThat(o.getMetadata().getLabels()).as("labels of %s", o.getMetadata().getName())
                    .containsEntry("app.kubernetes.io/instance", Chart.RELEASE).containsKey("helm.sh/chart");
        }
    }

    @Test
    void helmTestPodAsksTheApiServiceAndNotesSayHowToReachIt() {
        String output = Chart.dryRunInstall(null, Map.of());
        Chart.Rendered r = Chart.render(null);
        Service api = r.all(Service.class).stream().filter(s -> !"None".equals(s.getSpec().getClusterIP())).findFirst().orElseThrow();
        Pod test = Chart.testPod(null, Map.of());
        assertThat(test.getMetadata().getAnnotations()).containsEntry("helm.sh/hook", "test");
        Container c = test.getSpec().getContainers().getFirst();
        assertThat(String.join(" ", c.getCommand())).contains("/v1/completions");
        assertThat(env(c)).containsEntry("API", "http://" + api.getMetadata().getName() + "." + Chart.NAMESPACE + ".svc.cluster.local:" + port(api, "http").getPort());
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        String notes = Chart.section(output, "NOTES:");
        assertThat(notes).contains("kubectl -n " + Chart.NAMESPACE + " port-forward svc/" + api.getMetadata().getName() + " 8080:8080")
                .contains("helm test " + Chart.RELEASE).contains("4 expert nodes (every expert on 2 of them)");
    }

    @Test
    void bootstrapModeRendersItsRbacAndNoSeeds() {
        Chart.Rendered r = Chart.render(Chart.ciValues("bootstrap"));
        assertThat(r.all(Role.class)).hasSize(1);
        for (PodTemplateSpec t : List.of(r.one(StatefulSet.class, "-node").getSpec().getTemplate(), r.one(Deployment.class, "-coordinator").getSpec().getTemplate())) {
            assertThat(env(t.getSpec().getContainers().getFirst())).doesNotContainKey("MIXTRAL_SEEDS").containsEntry("MIXTRAL_CLUSTER_BOOTSTRAP", "kubernetes-api");
        }
        Chart.Rendered seeds = Chart.render(null);
        assertThat(seeds.all(Role.class)).as("seeds mode needs no API access").isEmpty();
        assertThat(seeds.all(ServiceAccount.class)).singleElement().satisfies(a -> assertThat(a.getAutomountServiceAccountToken()).isFalse());
        // what the processes make of the rendered env: the same contact points, the founding rule's inputs
        StatefulSet nodes = r.one(StatefulSet.class, "-node");
        Map<String, String> podEnv = Kubelet.resolveEnv(nodes.getSpec().getTemplate().getSpec().getContainers().getFirst(),
                Kubelet.statefulSetPod(nodes, 1, "10.1.2.3"));
        assertThat(podEnv).containsEntry("MIXTRAL_MANAGEMENT_HOST", "10.1.2.3").containsEntry("MIXTRAL_BOOTSTRAP_REQUIRED_CONTACT_POINTS", "2");
    }

    @Test
    void bootstrapModeNeedsNoMoreContactPointsThanPods() {
        assertThatThrownBy(() -> Chart.template(Chart.ciValues("bootstrap"), Map.of("cluster.bootstrap.requiredContactPoints", 6)))
                .hasMessageContaining("cluster.bootstrap.requiredContactPoints (6) must not exceed the pods of the release (4 expert nodes + 1 coordinators)");
        assertThat(Chart.template(Chart.ciValues("bootstrap"), Map.of("cluster.bootstrap.requiredContactPoints", 5))).contains("kind: StatefulSet");
    }

    @Test
    void monitoringObjectsPointAtRealPortsAndTheDashboardIsValidJson() throws Exception {
        Chart.Rendered r = Chart.render(Chart.ciValues("monitoring"));
        Service api = r.all(Service.class).stream().filter(s -> !"None".equals(s.getSpec().getClusterIP())).findFirst().orElseThrow();
        List<GenericKubernetesResource> monitors = r.all(GenericKubernetesResource.class);
        GenericKubernetesResource sm = monitors.stream().filter(m -> m.getKind().equals("ServiceMonitor")).findFirst().orElseThrow();
        assertThat(sm.<Map<String, String>>get("spec", "selector", "matchLabels")).isEqualTo(api.getSpec().getSelector());
        assertThat(port(api, sm.<String>get("spec", "endpoints", 0, "port"))).isNotNull();
        assertThat(sm.<String>get("spec", "endpoints", 0, "path")).isEqualTo("/metrics");
        assertThat(sm.getMetadata().getLabels()).containsEntry("release", "prometheus");
        GenericKubernetesResource pm = monitors.stream().filter(m -> m.getKind().equals("PodMonitor")).findFirst().orElseThrow();
        StatefulSet nodes = r.one(StatefulSet.class, "-node");
        assertThat(nodes.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(pm.get("spec", "selector", "matchLabels"));
        containerPort(nodes.getSpec().getTemplate().getSpec().getContainers().getFirst(), pm.get("spec", "podMetricsEndpoints", 0, "port"));
        assertThat(pm.<String>get("spec", "podMetricsEndpoints", 0, "path")).isEqualTo("/metrics");

        HorizontalPodAutoscaler hpa = r.all(HorizontalPodAutoscaler.class).getFirst();
        Deployment coordinator = r.one(Deployment.class, "-coordinator");
        assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(coordinator.getMetadata().getName());
        assertThat(coordinator.getSpec().getReplicas()).as("the HPA owns the replica count").isNull();
        assertThat(env(coordinator.getSpec().getTemplate().getSpec().getContainers().getFirst())).containsKey("MIXTRAL_API_KEY");

        ConfigMap dashboard = r.one(ConfigMap.class, "-dashboard");
        JsonNode json = new ObjectMapper().readTree(dashboard.getData().get("mixtral-cluster.json"));
        assertThat(json.path("panels").size()).isGreaterThan(10);
        assertThat(Dashboard.metricNames(json)).isNotEmpty().allMatch(m -> m.startsWith("mixtral_"));
        assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
    }

    @Test
    void modelSourcesMountTheModelWhereModelPathPoints() {
        // url with no shared cache: each node downloads into its own claim, the init container first
        StatefulSet byUrl = Chart.render(null).one(StatefulSet.class, "-node");
        assertThat(byUrl.getSpec().getVolumeClaimTemplates()).singleElement().satisfies(c -> assertThat(c.getMetadata().getName()).isEqualTo("model"));
        Container init = byUrl.getSpec().getTemplate().getSpec().getInitContainers().getFirst();
        assertThat(env(init)).containsEntry("MODEL_PATH", "/models/model.gguf").containsKey("MODEL_URL").containsKey("MODEL_SHA256");
        // pvc: mounted read-only, no download
        PodSpec byPvc = Chart.render(Chart.ciValues("eight-nodes")).one(StatefulSet.class, "-node").getSpec().getTemplate().getSpec();
        assertThat(byPvc.getInitContainers()).isEmpty();
        assertThat(byPvc.getVolumes()).filteredOn(v -> v.getPersistentVolumeClaim() != null).singleElement()
                .satisfies(v -> assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("mixtral-models"));
        assertThat(env(byPvc.getContainers().getFirst())).containsEntry("MIXTRAL_MODEL", "/models/mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf");
        // hostPath
        PodSpec byHost = Chart.render(Chart.ciValues("bootstrap")).one(Deployment.class, "-coordinator").getSpec().getTemplate().getSpec();
        assertThat(byHost.getVolumes()).filteredOn(v -> v.getHostPath() != null).singleElement()
                .satisfies(v -> assertThat(v.getHostPath().getPath()).isEqualTo("/var/lib/mixtral/models"));
    }

    /** Bad values: rejected before anything reaches a cluster, with a message naming the value. */
    @ParameterizedTest
    @ValueSource(strings = {
            "expertNodes.count=0|expertNodes/count",
            "expertNodes.replicationFactor=3,expertNodes.count=2|expertNodes.replicationFactor (3) must not exceed expertNodes.count (2)",
            "coordinator.replicas=0|coordinator/replicas",
            "expertNodes.replicationFactor=0|expertNodes/replicationFactor",
            "model.source=pvc|claimName",
            "model.source=s3|model/source",
            "model.sha256=abc|model/sha256",
            "model.path=/data/model.gguf|model.path (/data/model.gguf) must be inside model.mountPath (/models)",
            "ports.http=70000|ports/http",
            "image.repository=|image/repository",
            "expertNode.count=4|expertNode",
            "expertNodes.pdb.maxUnavailable=2|must be below expertNodes.replicationFactor (2)",
            "cluster.mode=dns|cluster/mode",
    })
    void badValuesAreRejectedWithTheirName(String testCase) {
        String[] parts = testCase.split("\\|");
        Map<String, Object> sets = new HashMap<>();
        for (String kv : parts[0].split(",")) {
            String[] p = kv.split("=", 2);
            sets.put(p[0], p[1]);
        }
        assertThatThrownBy(() -> Chart.template(null, sets)).as("values %s", parts[0]).hasMessageContaining(parts[1]);
    }

    // ---- invariants ----

    private static void assertEveryExpertHeldReplicationFactorTimes(StatefulSet nodes) {
        int count = nodes.getSpec().getReplicas();
        Container c = nodes.getSpec().getTemplate().getSpec().getContainers().getFirst();
        int[] holders = new int[EXPERTS];
        for (int ordinal = 0; ordinal < count; ordinal++) {
            // what the kubelet gives the pod with this ordinal (downward API label, then $(VAR) expansion)
            Map<String, String> env = Kubelet.resolveEnv(c, Kubelet.statefulSetPod(nodes, ordinal, "10.0.0." + ordinal));
            String[] placement = env.get("MIXTRAL_PLACEMENT").split("/");
            assertThat(Integer.parseInt(placement[0])).isEqualTo(ordinal);
            assertThat(Integer.parseInt(placement[1])).isEqualTo(count);
            int replicas = Integer.parseInt(placement[2]);
            for (int e : LocalCluster.split(EXPERTS, count, replicas).get(ordinal)) holders[e]++;
        }
        int replicas = Integer.parseInt(Kubelet.resolveEnv(c, Kubelet.statefulSetPod(nodes, 0, "10.0.0.0")).get("MIXTRAL_PLACEMENT").split("/")[2]);
        for (int e = 0; e < EXPERTS; e++) assertThat(holders[e]).as("pods holding expert %d", e).isEqualTo(replicas);
    }

    private static final Pattern SEED = Pattern.compile("([a-z0-9-]+)-(\\d+)\\.([a-z0-9-]+)\\.([a-z0-9-]+)\\.svc\\.cluster\\.local:(\\d+)");

    private static void assertSeedsArePodsOfTheHeadlessService(StatefulSet nodes, Deployment coordinator, Service headless) {
        assertThat(headless.getSpec().getClusterIP()).isEqualTo("None");
        assertThat(headless.getSpec().getPublishNotReadyAddresses()).isTrue();
        assertThat(nodes.getSpec().getServiceName()).isEqualTo(headless.getMetadata().getName());
        Container node = nodes.getSpec().getTemplate().getSpec().getContainers().getFirst();
        String seeds = env(node).get("MIXTRAL_SEEDS");
        if (seeds == null) return; // bootstrap mode
        assertThat(env(coordinator.getSpec().getTemplate().getSpec().getContainers().getFirst())).containsEntry("MIXTRAL_SEEDS", seeds);
        List<String> list = List.of(seeds.split(","));
        assertThat(list).hasSize(Math.min(3, nodes.getSpec().getReplicas())).doesNotHaveDuplicates();
        int clusterPort = containerPort(node, "cluster");
        for (int i = 0; i < list.size(); i++) {
            Matcher m = SEED.matcher(list.get(i));
            assertThat(m.matches()).as("seed %s", list.get(i)).isTrue();
            assertThat(m.group(1)).isEqualTo(nodes.getMetadata().getName());
            assertThat(Integer.parseInt(m.group(2))).as("seeds are the first pods, in order").isEqualTo(i);
            assertThat(m.group(3)).isEqualTo(headless.getMetadata().getName());
            assertThat(m.group(4)).isEqualTo(Chart.NAMESPACE);
            assertThat(Integer.parseInt(m.group(5))).isEqualTo(clusterPort);
            // the name a seed has is the name that pod advertises (Pekko matches the first seed against itself)
            Map<String, String> podEnv = Kubelet.resolveEnv(node, Kubelet.statefulSetPod(nodes, i, "10.0.0." + i));
            assertThat(podEnv.get("MIXTRAL_HOST") + ":" + podEnv.get("MIXTRAL_CLUSTER_PORT")).isEqualTo(list.get(i));
        }
    }

    private static void assertPortsAgree(StatefulSet nodes, Deployment coordinator, Service headless, Service api) {
        Container node = nodes.getSpec().getTemplate().getSpec().getContainers().getFirst();
        Map<String, String> nodeEnv = env(node);
        assertThat(nodeEnv.get("MIXTRAL_GRPC_PORT")).isEqualTo(Integer.toString(containerPort(node, "expert-grpc")));
        assertThat(nodeEnv.get("MIXTRAL_CLUSTER_PORT")).isEqualTo(Integer.toString(containerPort(node, "cluster")));
        assertThat(nodeEnv.get("MIXTRAL_METRICS_PORT")).isEqualTo(Integer.toString(containerPort(node, "metrics")));
        Container coord = coordinator.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(flag(coord, "--port")).isEqualTo(Integer.toString(containerPort(coord, "http")));
        assertThat(flag(coord, "--grpc-port")).isEqualTo(Integer.toString(containerPort(coord, "grpc-api")));
        assertThat(flag(coord, "--cluster-port")).isEqualTo(Integer.toString(containerPort(coord, "cluster")));
        for (var pair : List.of(Map.entry(headless, node), Map.entry(api, coord))) {
            for (ServicePort sp : pair.getKey().getSpec().getPorts()) {
                int target = resolve(pair.getValue(), sp.getTargetPort());
                assertThat(sp.getPort()).as("%s port %s", pair.getKey().getMetadata().getName(), sp.getName()).isEqualTo(target);
            }
        }
        assertThat(port(api, "http")).isNotNull();
        assertThat(port(api, "grpc-api")).isNotNull();
        for (Container c : List.of(node, coord)) {
            for (Probe p : probes(c)) {
                IntOrString port = p.getHttpGet() != null ? p.getHttpGet().getPort() : p.getTcpSocket().getPort();
                resolve(c, port); // fails unless the probe's port is one of the container's
            }
        }
    }

    /**
     * Seeds mode: no management port, no API access. Bootstrap mode: every pod of both roles is a contact point
     * the processes' kubernetes-api discovery finds: matched by the selector they are given, with the container
     * port named as the processes look for it, whose number is the management port they listen on (in the
     * headless Service too), at the pod IP; the service account may list pods; the probes do not depend on it.
     */
    private static void assertClusterModeConsistent(Chart.Rendered r, StatefulSet nodes, Deployment coordinator, Service headless) {
        List<PodTemplateSpec> templates = List.of(nodes.getSpec().getTemplate(), coordinator.getSpec().getTemplate());
        String portName = ClusterJoin.Bootstrap.MANAGEMENT_PORT_NAME;
        boolean bootstrap = env(templates.getFirst().getSpec().getContainers().getFirst()).containsKey("MIXTRAL_CLUSTER_BOOTSTRAP");
        if (!bootstrap) {
            for (PodTemplateSpec t : templates) {
                assertThat(t.getSpec().getContainers().getFirst().getPorts()).noneMatch(cp -> portName.equals(cp.getName()));
            }
            assertThat(port(headless, portName)).isNull();
            assertThat(r.all(Role.class)).isEmpty();
            return;
        }
        Map<String, String> first = env(templates.getFirst().getSpec().getContainers().getFirst());
        int pods = nodes.getSpec().getReplicas() + (coordinator.getSpec().getReplicas() == null ? 1 : coordinator.getSpec().getReplicas());
        assertThat(Integer.parseInt(first.get("MIXTRAL_BOOTSTRAP_REQUIRED_CONTACT_POINTS"))).isBetween(1, pods);
        Map<String, String> selector = new HashMap<>();
        for (String term : first.get("MIXTRAL_BOOTSTRAP_SELECTOR").split(",")) {
            String[] kv = term.split("=", 2);
            assertThat(kv).as("selector term %s is key=value", term).hasSize(2);
            selector.put(kv[0].strip(), kv[1].strip());
        }
        for (PodTemplateSpec t : templates) {
            Container c = t.getSpec().getContainers().getFirst();
            Map<String, String> e = env(c);
            assertThat(e).doesNotContainKey("MIXTRAL_SEEDS").containsEntry("MIXTRAL_CLUSTER_BOOTSTRAP", "kubernetes-api")
                    .containsEntry("MIXTRAL_MANAGEMENT_PORT", Integer.toString(containerPort(c, portName)));
            for (String k : List.of("MIXTRAL_BOOTSTRAP_SELECTOR", "MIXTRAL_BOOTSTRAP_SERVICE", "MIXTRAL_BOOTSTRAP_REQUIRED_CONTACT_POINTS", "MIXTRAL_MANAGEMENT_PORT")) {
                assertThat(e.get(k)).as("%s of %s, the same on every pod", k, c.getName()).isNotBlank().isEqualTo(first.get(k));
            }
            assertThat(c.getEnv()).filteredOn(v -> v.getName().equals("MIXTRAL_MANAGEMENT_HOST")).singleElement()
                    .satisfies(v -> assertThat(v.getValueFrom().getFieldRef().getFieldPath()).as("discovery reports pod IPs").isEqualTo("status.podIP"));
            assertThat(t.getMetadata().getLabels()).as("%s pods are found by the selector", c.getName()).containsAllEntriesOf(selector);
            for (Probe probe : probes(c)) {
                IntOrString target = probe.getHttpGet() != null ? probe.getHttpGet().getPort() : probe.getTcpSocket().getPort();
                assertThat(resolve(c, target)).as("%s probes do not depend on the management endpoint", c.getName()).isNotEqualTo(containerPort(c, portName));
            }
            assertThat(t.getSpec().getServiceAccountName()).isEqualTo(r.all(ServiceAccount.class).getFirst().getMetadata().getName());
        }
        assertThat(port(headless, portName)).isNotNull();
        assertThat(r.all(ServiceAccount.class)).singleElement().satisfies(a -> assertThat(a.getAutomountServiceAccountToken()).as("the API token is mounted").isTrue());
        Role role = r.all(Role.class).getFirst();
        assertThat(role.getRules()).anySatisfy(rule -> {
            assertThat(rule.getApiGroups()).contains("");
            assertThat(rule.getResources()).contains("pods");
            assertThat(rule.getVerbs()).contains("list");
        });
        RoleBinding binding = r.all(RoleBinding.class).getFirst();
        assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
        assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(templates.getFirst().getSpec().getServiceAccountName());
            assertThat(s.getNamespace()).isEqualTo(Chart.NAMESPACE);
        });
    }

    private static void assertProbesSecurityAndTermination(PodTemplateSpec template, String role) {
        PodSpec spec = template.getSpec();
        assertThat(spec.getSecurityContext().getRunAsNonRoot()).as("%s runAsNonRoot", role).isTrue();
        assertThat(spec.getSecurityContext().getRunAsUser()).isPositive();
        assertThat(spec.getTerminationGracePeriodSeconds()).as("%s grace period", role).isGreaterThanOrEqualTo(30);
        List<Container> all = new ArrayList<>(spec.getContainers());
        all.addAll(spec.getInitContainers());
        for (Container c : all) {
            assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).as("%s read-only root", c.getName()).isTrue();
            assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
            assertThat(c.getSecurityContext().getCapabilities().getDrop()).contains("ALL");
            assertThat(c.getResources().getRequests()).as("%s requests", c.getName()).containsKey("memory");
        }
        Container main = spec.getContainers().getFirst();
        assertThat(main.getStartupProbe()).as("%s startupProbe", role).isNotNull();
        assertThat(main.getReadinessProbe()).as("%s readinessProbe", role).isNotNull();
        assertThat(main.getLivenessProbe()).as("%s livenessProbe", role).isNotNull();
        // slow model loads: the startup probe allows minutes before liveness takes over
        Probe startup = main.getStartupProbe();
        assertThat(startup.getPeriodSeconds() * startup.getFailureThreshold()).isGreaterThanOrEqualTo(600);
        assertThat(main.getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/tmp"));
        assertThat(main.getLifecycle().getPreStop().getExec().getCommand()).first().isEqualTo("sleep");
    }

    private static void assertSelectorsMatch(Chart.Rendered r, StatefulSet nodes, Deployment coordinator) {
        Map<String, String> nodeLabels = nodes.getSpec().getTemplate().getMetadata().getLabels();
        Map<String, String> coordLabels = coordinator.getSpec().getTemplate().getMetadata().getLabels();
        assertThat(nodeLabels).containsAllEntriesOf(nodes.getSpec().getSelector().getMatchLabels());
        assertThat(coordLabels).containsAllEntriesOf(coordinator.getSpec().getSelector().getMatchLabels());
        for (Service s : r.all(Service.class)) {
            boolean selectsNodes = nodeLabels.entrySet().containsAll(s.getSpec().getSelector().entrySet());
            boolean selectsCoordinators = coordLabels.entrySet().containsAll(s.getSpec().getSelector().entrySet());
            assertThat(selectsNodes ^ selectsCoordinators).as("service %s selects exactly one role", s.getMetadata().getName()).isTrue();
        }
        for (PodDisruptionBudget pdb : r.all(PodDisruptionBudget.class)) {
            Map<String, String> sel = pdb.getSpec().getSelector().getMatchLabels();
            assertThat(nodeLabels.entrySet().containsAll(sel.entrySet()) ^ coordLabels.entrySet().containsAll(sel.entrySet())).isTrue();
        }
        assertThat(r.all(PodDisruptionBudget.class)).hasSize(2);
        PodDisruptionBudget nodePdb = r.one(PodDisruptionBudget.class, "-node");
        int replicas = Integer.parseInt(env(nodes.getSpec().getTemplate().getSpec().getContainers().getFirst()).get("MIXTRAL_PLACEMENT").split("/")[2]);
        if (replicas > 1) assertThat(nodePdb.getSpec().getMaxUnavailable().getIntVal()).isLessThan(replicas);
        assertThat(nodes.getSpec().getTemplate().getSpec().getAffinity().getPodAntiAffinity()).isNotNull();
    }

    // ---- helpers ----

    static Map<String, String> env(Container c) {
        Map<String, String> m = new HashMap<>();
        for (EnvVar e : c.getEnv()) if (e.getValue() != null || e.getValueFrom() != null) m.put(e.getName(), Objects.toString(e.getValue(), "<from>"));
        return m;
    }

    private static String flag(Container c, String name) {
        List<String> args = c.getArgs();
        int i = args.indexOf(name);
        assertThat(i).as("%s in %s", name, args).isNotNegative();
        return args.get(i + 1);
    }

    static int containerPort(Container c, String name) {
        return c.getPorts().stream().filter(p -> name.equals(p.getName())).mapToInt(ContainerPort::getContainerPort).findFirst()
                .orElseThrow(() -> new AssertionError("container " + c.getName() + " has no port named " + name));
    }

    static int resolve(Container c, IntOrString port) {
        if (port.getStrVal() != null) return containerPort(c, port.getStrVal());
        int n = port.getIntVal();
        assertThat(c.getPorts()).as("container %s exposes port %d", c.getName(), n).anySatisfy(p -> assertThat(p.getContainerPort()).isEqualTo(n));
        return n;
    }

    static ServicePort port(Service s, String name) {
        return s.getSpec().getPorts().stream().filter(p -> name.equals(p.getName())).findFirst().orElse(null);
    }

    private static List<Probe> probes(Container c) {
        return Stream.of(c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe()).filter(Objects::nonNull).toList();
    }
}
