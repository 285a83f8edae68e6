package dev.mixtral.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The cluster commands' contract without starting nodes: even shares, one-line errors, bounded waits. */
class ClusterCliTest {
    @Test
    void sharesAreEvenAndEachExpertHasItsReplicas() {
        assertThat(LocalCluster.split(8, 2, 1).toString()).isEqualTo("[[0, 1, 2, 3], [4, 5, 6, 7]]");
        assertThat(LocalCluster.split(8, 4, 1).toString()).isEqualTo("[[0, 1], [2, 3], [4, 5], [6, 7]]");
        var replicated = LocalCluster.split(8, 4, 2);
        for (int e = 0; e < 8; e++) {
            int expert = e;
            assertThat(replicated.stream().filter(s -> s.contains(expert)).count()).as("expert %d", e).isEqualTo(2);
        }
        assertThat(replicated).allSatisfy(s -> assertThat(s).hasSize(4));
        assertThat(LocalCluster.split(8, 3, 1).stream().mapToInt(java.util.SortedSet::size).toArray()).containsExactly(3, 3, 2);
        assertThatThrownBy(() -> LocalCluster.split(8, 2, 3)).hasMessageContaining("--replicas");
        assertThatThrownBy(() -> LocalCluster.split(8, 9, 1)).hasMessageContaining("cannot all hold experts");
    }

    @Test
    void localNodesInheritOnlyTheVectorWidthFlags() {
        assertThat(LocalCluster.vectorWidthFlags(List.of("-Xmx2g", "-XX:MaxVectorSize=16", "-XX:+UseG1GC", "-XX:UseAVX=1",
                "-Dmixtral.vectorBits=512", "-Dmixtral.threads=1", "-XX:SharedArchiveFile=a.jsa")))
                .containsExactly("-XX:MaxVectorSize=16", "-XX:UseAVX=1", "-Dmixtral.vectorBits=512");
    }

    @Test
    void aCoordinatorWithNobodyAtItsSeedsFailsWithinTheWaitTimeout() {
        CliTest.Result r = CliTest.run("logits", "--model", ClusterSupport.Q8.toString(), "--tokens", "1,9038",
                "--seeds", "127.0.0.1:" + ClusterSupport.freePort(), "--wait-timeout", "2s");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("mixtral logits: could not join the cluster at 127.0.0.1:")
                .contains("within 2s: no member answered there");
    }

    @Test
    void badClusterFlagsAreOneLineErrors() {
        CliTest.Result r = CliTest.run("generate", "--model", ClusterSupport.Q8.toString(), "--prompt", "x", "--seeds", "nohostport");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral generate: --seeds: 'nohostport' is not HOST:PORT");
        r = CliTest.run("expert-node", "--model", ClusterSupport.Q8.toString());
        assertThat(r.err().strip()).isEqualTo("mixtral expert-node: --experts is required (e.g. --experts 0-3)");
        r = CliTest.run("generate", "--model", ClusterSupport.Q8.toString(), "--prompt", "x", "--seeds", "h:1", "--wait-timeout", "soon");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("'soon' is not a positive duration");
        assertThat(List.of(CliTest.run("cluster", "--help").out())).first().asString().contains("--replicas");
    }

    @Test
    void badBootstrapFlagsAreOneLineErrorsBeforeAnythingStarts() {
        String model = ClusterSupport.Q8.toString();
        CliTest.Result r = CliTest.run("generate", "--model", model, "--prompt", "x", "--seeds", "127.0.0.1:1", "--cluster-bootstrap", "config");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral generate: give --seeds or --cluster-bootstrap, not both (MIXTRAL_SEEDS / MIXTRAL_CLUSTER_BOOTSTRAP)");
        r = CliTest.run("expert-node", "--model", model, "--experts", "0-3", "--cluster-bootstrap", "config");
        assertThat(r.err().strip()).isEqualTo("mixtral expert-node: --cluster-bootstrap config: config discovery needs the contact points"
                + " (HOST:PORT of each member's management endpoint)");
        r = CliTest.run("coordinator", "--model", model, "--cluster-bootstrap", "dns");
        assertThat(r.err().strip()).isEqualTo("mixtral coordinator: --cluster-bootstrap dns: unknown discovery method 'dns': kubernetes-api or config");
        r = CliTest.run("serve", "--model", model, "--cluster-bootstrap", "config", "--bootstrap-contact-points", "127.0.0.1:9001",
                "--bootstrap-required-contact-points", "2");
        assertThat(r.err().strip()).isEqualTo("mixtral serve: --cluster-bootstrap config: the required contact points (2) exceed the 1 contact points"
                + " given: no member could ever found the cluster");
        r = CliTest.run("coordinator", "--model", model);
        assertThat(r.err().strip()).isEqualTo("mixtral coordinator: --seeds or --cluster-bootstrap is required: the cluster to join");
    }

    @Test
    void badTlsFlagsAreOneLineErrorsBeforeAnythingStarts(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        ThrowawayPki.Identity id = ThrowawayPki.create(dir, "cli test CA").issue("node");
        CliTest.Result r = CliTest.run("expert-node", "--model", ClusterSupport.Q8.toString(), "--experts", "0-3",
                "--tls-cert", id.cert().toString(), "--tls-key", id.key().toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral expert-node: cluster TLS needs all of --tls-cert, --tls-key and --tls-ca"
                + " (or MIXTRAL_TLS_CERT/KEY/CA); missing: --tls-ca");
        r = CliTest.run("generate", "--model", ClusterSupport.Q8.toString(), "--prompt", "x", "--seeds", "127.0.0.1:1",
                "--tls-cert", id.cert().toString(), "--tls-key", id.cert().toString(), "--tls-ca", id.ca().toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("mixtral generate: --tls-key " + id.cert() + ": found no PEM private key");
        r = CliTest.run("cluster", "--model", ClusterSupport.Q8.toString(), "--tls",
                "--tls-cert", id.cert().toString(), "--tls-key", id.key().toString(), "--tls-ca", id.ca().toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral cluster: --tls makes its own certificates: give either --tls or --tls-cert/--tls-key/--tls-ca");
        r = CliTest.run("serve", "--model", ClusterSupport.Q8.toString(), "--api-tls-cert", id.cert().toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral serve: HTTPS needs both --api-tls-cert and --api-tls-key");
    }
}
