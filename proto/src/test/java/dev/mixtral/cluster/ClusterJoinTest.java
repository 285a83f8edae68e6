package dev.mixtral.cluster;

import com.typesafe.config.Config;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The two ways to find the cluster: what each says it does, what bootstrap hands Pekko, and the settings it refuses. */
class ClusterJoinTest {
    private static ClusterJoin.Bootstrap config(List<String> points, int required, String host, int port) {
        return new ClusterJoin.Bootstrap(ClusterJoin.Discovery.CONFIG, "mixtral", null, points, required, host, port);
    }

    @Test
    void seedModeExplainsItselfBySeedRuleUnchanged() {
        List<String> seeds = List.of("10.0.0.1:25520", "10.0.0.2:25520");
        ClusterJoin join = ClusterJoin.seeds(seeds);
        assertThat(join.explain("10.0.0.2:25520")).isEqualTo("seed nodes: " + SeedRule.explain("10.0.0.2:25520", seeds));
        assertThat(join.where()).isEqualTo("at 10.0.0.1:25520,10.0.0.2:25520");
    }

    @Test
    void theFounderOfAConfigListIsTheLowestInPekkosOrderHostAsTextThenPortAsNumber() {
        // as text "127.0.0.10" < "127.0.0.2": the founder is not the numerically lowest address
        assertThat(config(List.of("127.0.0.2:7626", "127.0.0.10:7626", "127.0.0.11:7626"), 3, "127.0.0.2", 7626).lowestContactPoint())
                .isEqualTo("127.0.0.10:7626");
        assertThat(config(List.of("127.0.0.1:10000", "127.0.0.1:9000"), 2, "127.0.0.1", 9000).lowestContactPoint())
                .isEqualTo("127.0.0.1:9000");
    }

    @Test
    void eachMemberSaysWhetherItMayFound() {
        List<String> points = List.of("127.0.0.1:9001", "127.0.0.1:9002");
        assertThat(config(points, 2, "127.0.0.1", 9001).explain("127.0.0.1:25520")).startsWith("cluster bootstrap (config): contact points [127.0.0.1:9001, 127.0.0.1:9002]")
                .contains("once 2 contact points answered").endsWith("this member (127.0.0.1:9001) is the lowest, so it founds the cluster when there is none");
        assertThat(config(points, 2, "127.0.0.1", 9002).explain("x")).endsWith("the lowest is 127.0.0.1:9001, so this member (127.0.0.1:9002) never founds a cluster");
        assertThat(config(points, 1, "127.0.0.1", 9003).explain("x")).endsWith("this member's own contact point 127.0.0.1:9003 is not among them, so it only ever joins");
        var k8s = new ClusterJoin.Bootstrap(ClusterJoin.Discovery.KUBERNETES_API, "demo", "app=%s,tier=x", List.of(), 2, "10.1.2.3", 7626);
        assertThat(k8s.explain("x")).contains("the pods matching 'app=demo,tier=x' at their port named 'management', this member's is 10.1.2.3:7626");
    }

    @Test
    void bootstrapHandsPekkoNoSeedsItsContactPointAndTheDiscoverysSettings() {
        Config k8s = BootstrapStart.settings(new ClusterJoin.Bootstrap(ClusterJoin.Discovery.KUBERNETES_API, "demo", "a=b", List.of(), 3, "10.1.2.3", 7000))
                .withFallback(ClusterContract.config("pod.example", 25520, List.of(), List.of("r"), dev.mixtral.cluster.tls.ClusterTls.PLAINTEXT));
        assertThat(k8s.getStringList("pekko.cluster.seed-nodes")).isEmpty();
        assertThat(k8s.getString("pekko.management.http.hostname")).isEqualTo("10.1.2.3");
        assertThat(k8s.getInt("pekko.management.http.port")).isEqualTo(7000);
        assertThat(k8s.getString("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method")).isEqualTo("kubernetes-api");
        assertThat(k8s.getString("pekko.management.cluster.bootstrap.contact-point-discovery.port-name")).isEqualTo("management");
        assertThat(k8s.getInt("pekko.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr")).isEqualTo(3);
        assertThat(k8s.getString("pekko.discovery.kubernetes-api.pod-label-selector")).isEqualTo("a=b");
        assertThat(k8s.getBoolean("pekko.discovery.kubernetes-api.use-raw-ip")).isTrue();
        assertThat(k8s.getString("pekko.management.cluster.bootstrap.join-decider.class")).isEqualTo(LoggedJoinDecider.class.getName());
        // the reference settings the bootstrap's rule relies on, as shipped
        assertThat(k8s.getBoolean("pekko.management.cluster.bootstrap.contact-point-discovery.contact-with-all-contact-points")).isTrue();
        assertThat(k8s.getBoolean("pekko.management.cluster.bootstrap.new-cluster-enabled")).isTrue();

        Config local = BootstrapStart.settings(config(List.of("127.0.0.1:9001", "127.0.0.1:9002"), 2, "127.0.0.1", 9001));
        assertThat(local.getConfigList("pekko.discovery.config.services.mixtral.endpoints"))
                .extracting(c -> c.getString("host") + ":" + c.getInt("port")).containsExactly("127.0.0.1:9001", "127.0.0.1:9002");
        assertThat(local.getBoolean("pekko.management.cluster.bootstrap.contact-point.filter-on-fallback-port")).isFalse();
    }

    @Test
    void settingsThatCouldNeverFormAClusterAreRefusedWithTheirName() {
        assertThatThrownBy(() -> config(List.of(), 1, "h", 1)).hasMessageContaining("config discovery needs the contact points");
        assertThatThrownBy(() -> config(List.of("a:1", "b:2"), 3, "a", 1))
                .hasMessageContaining("the required contact points (3) exceed the 2 contact points given");
        assertThatThrownBy(() -> config(List.of("a"), 1, "a", 1)).hasMessageContaining("contact point 'a' is not HOST:PORT");
        assertThatThrownBy(() -> config(List.of("a:1"), 1, "a", 0)).hasMessageContaining("the management port must be 1..65535");
        assertThatThrownBy(() -> config(List.of("a:1"), 0, "a", 1)).hasMessageContaining("the required contact points must be >= 1");
        assertThatThrownBy(() -> new ClusterJoin.Bootstrap(ClusterJoin.Discovery.KUBERNETES_API, "s", " ", List.of(), 2, "h", 1))
                .hasMessageContaining("kubernetes-api discovery needs a pod label selector");
        assertThatThrownBy(() -> ClusterJoin.Discovery.of("dns")).hasMessageContaining("unknown discovery method 'dns': kubernetes-api or config");
    }
}
