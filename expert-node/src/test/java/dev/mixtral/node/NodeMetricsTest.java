package dev.mixtral.node;

import dev.mixtral.model.kernel.VectorWidth;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** A node's /metrics over real HTTP: Prometheus text that follows its counters. */
class NodeMetricsTest {

    static String scrape(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    @Test
    void countersFollowTheNodesWork() throws Exception {
        NodeStats stats = new NodeStats(8);
        try (NodeMetrics metrics = NodeMetrics.start(stats, () -> new TreeSet<>(List.of(2, 5)), () -> 4096, "127.0.0.1", 0)) {
            String before = scrape(metrics.port());
            assertThat(before).contains("# TYPE mixtral_node_expert_tokens_total counter", "mixtral_node_expert_tokens_total{expert=\"2\"} 0.0",
                    "mixtral_node_queue_depth 0.0", "mixtral_node_mapped_bytes 4096.0", "mixtral_kernel_vector_bits " + VectorWidth.BITS + ".0");
            stats.enter();
            assertThat(scrape(metrics.port())).contains("mixtral_node_queue_depth 1.0");
            stats.computed(new int[]{2, 5}, new int[]{3, 1}, 2_000_000_000L);
            stats.exit();
            String after = scrape(metrics.port());
            assertThat(after).contains("mixtral_node_expert_tokens_total{expert=\"2\"} 3.0", "mixtral_node_expert_tokens_total{expert=\"5\"} 1.0",
                    "mixtral_node_compute_seconds_total 2.0", "mixtral_node_calls_total 1.0", "mixtral_node_queue_depth 0.0");
            assertThat(after).doesNotContain("expert=\"3\"");
        }
    }
}
