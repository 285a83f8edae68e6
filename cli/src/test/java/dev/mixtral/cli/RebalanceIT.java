package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.coordinator.RebalancePolicy;
import dev.mixtral.coordinator.Rebalancer;
import dev.mixtral.coordinator.RemoteNode;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.model.synth.RouterSkew;
import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.server.api.ApiServer;
import dev.mixtral.server.api.ServerMetrics;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Hot experts replicated while serving, with real processes: two expert nodes (separate JVMs) serve a
 * synthetic model whose experts 0 and 1 are hot, so the node holding them computes most tokens. With
 * {@code --rebalance}, the coordinator has the other node map a hot expert from its model file (no
 * restart) and sends it a share of that expert's tokens; the tokens each node computes even out, the
 * new node's counter for that expert grows, and every output stays bit-identical to one process. When
 * the traffic stops, the replica is dropped and the node unmaps it.
 */
class RebalanceIT {
    static final int PROMPTS = 3, PROMPT_TOKENS = 8, TOKENS = 16;
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    record Expected(int[] prompt, int[] tokens, float[] logits) {}

    @TempDir
    static Path dir;

    @Test
    void replicatesAHotExpertOntoTheLessLoadedNodeWithTheSameOutputsAndDropsItAfterwards() throws Exception {
        Path model = dir.resolve("hot-experts-0-1.gguf");
        SyntheticModel.writeGguf(SynthSpec.preset("tiny"), GgmlType.F32, 5, new RouterSkew(new TreeSet<>(Set.of(0, 1)), 8), model, false,
                2, dev.mixtral.model.io.ProgressListener.NONE);
        List<Expected> expected = oneProcess(model);

        Map<Integer, String> metricsUrls = new ConcurrentHashMap<>();
        Pattern ready = Pattern.compile("\\[node-(\\d+)] expert node ready: .* metrics (http://\\S+/metrics)");
        try (LocalCluster cluster = LocalCluster.start(model, 8, 2, 1, "127.0.0.1", LocalCluster.freePort(),
                List.of("--threads", "1", "--max-extra-experts", "1"), line -> {
                    Matcher m = ready.matcher(line);
                    if (m.find()) metricsUrls.put(Integer.parseInt(m.group(1)), m.group(2));
                    System.out.println(line);
                }).killOnClose()) {
            await().atMost(ClusterSupport.WAIT).until(() -> metricsUrls.size() == 2);
            Coordinator.Settings plain = new Coordinator.Settings(List.of(cluster.seeds().split(",")), "127.0.0.1", 0,
                    Duration.ofSeconds(5), GgmlType.F32, 0);

            // undisturbed: no rebalancing; node-0 (experts 0-3) computes most tokens
            Map<Integer, Map<Integer, Long>> before = nodeTokens(metricsUrls);
            try (var remote = ClusterSupport.Remote.open(model, plain)) {
                await().atMost(ClusterSupport.WAIT).until(() -> remote.coordinator().routingTable().nodes().size() == 2);
                generateAll(remote.generator(), expected);
            }
            double skewed = balancedness(before, nodeTokens(metricsUrls));

            // rebalancing every second over the last 3 s of load
            try (var remote = ClusterSupport.Remote.open(model, plain.withRebalance(new Rebalancer.Settings(Duration.ofSeconds(1), RebalancePolicy.DEFAULT)));
                 InferenceEngine engine = new InferenceEngine(remote.model().transformer(), new EngineConfig(4, 16, 16L << 20, 256, KvCache.Type.F32));
                 ApiServer api = new ApiServer(engine, remote.model().tokenizer(), metrics(remote.coordinator()),
                         new ApiServer.Options("127.0.0.1", 0, "hot", null, () -> null)).start()) {
                Coordinator c = remote.coordinator();
                ClusterPage.serve(api, c, engine);
                await().atMost(ClusterSupport.WAIT).until(() -> c.routingTable().nodes().size() == 2);
                Generator g = remote.generator();
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                for (int round = 0; c.replicasAdded() == 0 && round < 200 && System.nanoTime() < deadline; round++) {
                    generateAll(g, expected); // serving while the replica is added: outputs checked throughout
                }
                assertThat(c.replicasAdded()).as("a replica was added within 120 s of skewed traffic").isEqualTo(1);
                RemoteNode target = c.routingTable().nodes().stream().filter(n -> !n.extras().isEmpty()).findFirst().orElseThrow();
                int extra = target.extras().first();
                int targetIndex = target.placement().contains(4) ? 1 : 0;
                assertThat(targetIndex).as("the less loaded node, holding 4-7, gets the replica").isEqualTo(1);
                assertThat(extra).isIn(0, 1);

                Map<Integer, Map<Integer, Long>> start = nodeTokens(metricsUrls);
                generateAll(g, expected);
                Map<Integer, Map<Integer, Long>> end = nodeTokens(metricsUrls);
                double balanced = balancedness(start, end);
                long servedByReplica = end.get(targetIndex).getOrDefault(extra, 0L) - start.get(targetIndex).getOrDefault(extra, 0L);
                System.out.printf("[rebalance] balancedness %.3f undisturbed → %.3f with expert %d replicated onto node-%d (%d of its tokens there)%n",
                        skewed, balanced, extra, targetIndex, servedByReplica);
                assertThat(servedByReplica).as("the new node computes a share of the hot expert").isPositive();
                assertThat(balanced).isGreaterThan(skewed);

                // what an operator sees: the metric and the page
                String metrics = get("http://127.0.0.1:" + api.port() + "/metrics");
                assertThat(metrics).contains("mixtral_expert_replications_total{change=\"added\"} 1.0", "mixtral_expert_extra_replicas 1.0");
                JsonNode page = JSON.readTree(get("http://127.0.0.1:" + api.port() + "/cluster.json"));
                List<String> extras = new ArrayList<>();
                for (JsonNode n : page.get("nodes")) {
                    for (JsonNode e : n.get("experts")) if (e.get("extra").asBoolean()) extras.add(n.get("address").asText() + "#" + e.get("expert").asInt());
                }
                assertThat(extras).containsExactly(target.address() + "#" + extra);
                assertThat(page.get("replicasAdded").asLong()).isEqualTo(1);

                // no traffic: the replica is no longer needed; dropped from routing, then unmapped by the node
                long mappedWithReplica = mappedBytes(metricsUrls.get(targetIndex));
                await().atMost(Duration.ofSeconds(60)).until(() -> c.replicasDropped() == 1);
                assertThat(c.routingTable().nodes()).allSatisfy(n -> assertThat(n.extras()).isEmpty());
                await().atMost(Duration.ofSeconds(60)).until(() -> mappedBytes(metricsUrls.get(targetIndex)) < mappedWithReplica);
                assertThat(get("http://127.0.0.1:" + api.port() + "/metrics")).contains("mixtral_expert_replications_total{change=\"dropped\"} 1.0");
            }
        }
    }

    static List<Expected> oneProcess(Path model) {
        Random r = new Random(11);
        List<Expected> expected = new ArrayList<>();
        try (MixtralModel local = MixtralModel.local(model)) {
            Generator g = new Generator(local.transformer(), KvCache.Type.F32, 256);
            for (int i = 0; i < PROMPTS; i++) {
                int[] prompt = new int[PROMPT_TOKENS];
                for (int j = 0; j < prompt.length; j++) prompt[j] = 3 + r.nextInt(local.config().vocab() - 3);
                int[] tokens = g.generate(prompt, TOKENS, SamplingParams.GREEDY);
                expected.add(new Expected(prompt, tokens, g.score(ClusterSupport.concat(prompt, tokens))));
            }
        }
        return expected;
    }

    /** Generates and scores every prompt, asserting tokens and logits bit-identical to one process. */
    static void generateAll(Generator g, List<Expected> expected) {
        for (Expected e : expected) {
            assertThat(g.generate(e.prompt(), TOKENS, SamplingParams.GREEDY)).containsExactly(e.tokens());
            ClusterSupport.assertSameLogits(g.score(ClusterSupport.concat(e.prompt(), e.tokens())), e.logits(), e.logits().length / (e.prompt().length + TOKENS));
        }
    }

    static ServerMetrics metrics(Coordinator c) {
        ServerMetrics m = new ServerMetrics();
        ClusterMetrics.register(m, c);
        return m;
    }

    static final Pattern EXPERT_TOKENS = Pattern.compile("(?m)^mixtral_node_expert_tokens_total\\{expert=\"(\\d+)\"} (\\S+)$");
    static final Pattern MAPPED = Pattern.compile("(?m)^mixtral_node_mapped_bytes (\\S+)$");

    /** Token rows each node has computed per expert since it started, from its own /metrics. */
    static Map<Integer, Map<Integer, Long>> nodeTokens(Map<Integer, String> urls) throws Exception {
        Map<Integer, Map<Integer, Long>> tokens = new HashMap<>();
        for (var u : urls.entrySet()) {
            Map<Integer, Long> perExpert = new HashMap<>();
            Matcher m = EXPERT_TOKENS.matcher(get(u.getValue()));
            while (m.find()) perExpert.put(Integer.parseInt(m.group(1)), (long) Double.parseDouble(m.group(2)));
            tokens.put(u.getKey(), perExpert);
        }
        return tokens;
    }

    /** Mean ÷ max of the tokens each node computed between two readings. */
    static double balancedness(Map<Integer, Map<Integer, Long>> from, Map<Integer, Map<Integer, Long>> to) {
        long max = 0, sum = 0;
        for (int node : to.keySet()) {
            long t = 0;
            for (var e : to.get(node).entrySet()) t += e.getValue() - from.get(node).getOrDefault(e.getKey(), 0L);
            max = Math.max(max, t);
            sum += t;
        }
        return (double) sum / to.size() / max;
    }

    static long mappedBytes(String url) throws Exception {
        Matcher m = MAPPED.matcher(get(url));
        assertThat(m.find()).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }

    static String get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
