package dev.mixtral.cli;

import dev.mixtral.coordinator.RemoteNode;
import dev.mixtral.server.api.ApiServer;
import dev.mixtral.server.api.ServerMetrics;
import dev.mixtral.model.Golden;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.mixtral.cli.ClusterSupport.Q8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The cluster page, loaded by headless Chromium from a running cluster, shows its nodes and their experts. */
class ClusterPageIT {
    @Test
    void headlessChromiumSeesEveryNodeAndItsExperts() throws Exception {
        String chromium = List.of("/usr/bin/chromium", "/usr/bin/chromium-browser").stream()
                .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        Assumptions.assumeTrue(chromium != null, "chromium is not installed (Debian: apt-get install chromium): the cluster page test is skipped");
        try (LocalCluster cluster = ClusterSupport.nodes(Q8, 3, 2);
             var remote = ClusterSupport.Remote.openCold(Q8, cluster, Duration.ofSeconds(10));
             InferenceEngine engine = new InferenceEngine(remote.model().transformer(), new EngineConfig(4, 16, 16L << 20, 256, KvCache.Type.F32));
             ApiServer api = new ApiServer(engine, remote.model().tokenizer(), new ServerMetrics(),
                     new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null)).start()) {
            await().atMost(ClusterSupport.WAIT).pollInterval(Duration.ofMillis(100))
                    .until(() -> remote.coordinator().routingTable().nodes().size() == 3);
            ClusterPage.serve(api, remote.coordinator(), engine);
            // some load, so the heatmap has counts
            remote.generator().generate(Golden.load("Q8_0").cases().get(0).promptIds(), 8, SamplingParams.GREEDY);

            Path profile = Files.createTempDirectory("chromium-profile");
            Process p = new ProcessBuilder(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
                    "--virtual-time-budget=3000", "--dump-dom", "http://127.0.0.1:" + api.port() + "/")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String dom;
            try {
                dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            } finally {
                p.destroyForcibly();
            }
            System.out.println("[page] DOM of / as Chromium rendered it: " + dom.length() + " chars");
            assertThat(dom).contains("<b id=\"nodeCount\">3</b>");
            // the one coordinator serving these nodes, this one
            assertThat(dom).contains("<b id=\"coordinatorCount\" title=\"" + remote.coordinator().clusterAddress() + " (this one)\">1</b>");
            for (RemoteNode n : remote.coordinator().routingTable().nodes()) {
                assertThat(dom).contains("<td>" + n.address() + "</td>");
                for (int e : n.experts()) {
                    // every expert of this table is on 2 nodes: shown as a replica
                    assertThat(dom).contains("<span class=\"expert replica\" title=\"expert " + e + " (replicated)\">" + e + "</span>");
                }
            }
            assertThat(dom).contains("<td>L0</td>").contains("<td>L1</td>");
        }
    }
}
