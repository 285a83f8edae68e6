package dev.mixtral.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.coordinator.RemoteNode;
import dev.mixtral.server.api.ApiServer;
import dev.mixtral.server.engine.InferenceEngine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The cluster page on the API port: {@code /} is a self-contained HTML page (no external scripts) that
 * polls {@code /cluster.json} every second and draws the nodes and the experts each holds (replicas
 * and extra replicas of hot experts marked), the coordinators serving them, the per-expert load heatmap (layer × expert, last 30 s),
 * balancedness over time, tokens/s,
 * running and waiting requests, and failovers and hedges as they happen.
 */
final class ClusterPage {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Coordinator coordinator;
    private final InferenceEngine engine;
    private final byte[] html;

    private ClusterPage(Coordinator coordinator, InferenceEngine engine) {
        this.coordinator = coordinator;
        this.engine = engine;
        try (InputStream in = ClusterPage.class.getResourceAsStream("cluster.html")) {
            this.html = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Adds the page and its data to {@code api}. */
    static void serve(ApiServer api, Coordinator coordinator, InferenceEngine engine) {
        ClusterPage page = new ClusterPage(coordinator, engine);
        api.extra("/", ex -> page.send(ex, "text/html; charset=utf-8", page.html));
        api.extra("/cluster.json", ex -> page.send(ex, "application/json", JSON.writeValueAsBytes(page.snapshot())));
    }

    /** What the page shows, now; the page keeps the history (balancedness, rates) itself. */
    ObjectNode snapshot() {
        ObjectNode s = JSON.createObjectNode();
        var table = coordinator.routingTable();
        var load = coordinator.experts().load();
        Map<String, Long> perNode = load.perNode();
        ArrayNode nodes = s.putArray("nodes");
        for (RemoteNode n : table.nodes()) {
            ObjectNode o = nodes.addObject().put("address", n.address()).put("name", n.name()).put("tokens", perNode.getOrDefault(n.address(), 0L));
            ArrayNode experts = o.putArray("experts");
            for (int e : n.experts()) {
                experts.addObject().put("expert", e).put("replicated", table.holders(e).size() > 1).put("extra", n.extras().contains(e));
            }
        }
        s.putPOJO("missing", table.missing());
        s.put("self", coordinator.clusterAddress());
        s.putPOJO("coordinators", coordinator.coordinators());
        ArrayNode heat = s.putArray("load");
        for (long[] layer : load.perExpert()) {
            ArrayNode row = heat.addArray();
            for (long t : layer) row.add(t);
        }
        s.put("windowSeconds", 30);
        s.put("balancedness", coordinator.experts().balancedness());
        var engineStats = engine.stats();
        s.put("running", engineStats.running()).put("waiting", engineStats.waiting()).put("tokensProcessed", engineStats.tokensProcessed());
        var stats = coordinator.experts().stats();
        s.put("failovers", stats.failovers()).put("hedges", stats.hedges()).put("suspicions", coordinator.suspicions());
        s.put("replicasAdded", coordinator.replicasAdded()).put("replicasDropped", coordinator.replicasDropped());
        s.put("time", System.currentTimeMillis());
        return s;
    }

    private void send(HttpExchange ex, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
