package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.server.api.ApiServer;
import dev.mixtral.server.api.ServerMetrics;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.mixtral.cli.ClusterSupport.Q8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two {@code serve} processes (coordinators with the API) on one pool of 3 expert nodes (every expert on 2),
 * all separate JVMs on loopback, clients over real HTTP. First: both serve seeded requests at once, each
 * output identical to a single-process server's; one coordinator is killed (SIGKILL) mid-stream, its
 * clients see the connection close (never a completed answer), the other's requests all complete
 * identically and it keeps serving, and the nodes log the dead coordinator and keep no state for it.
 * Then: every holder of some experts is killed under load on the surviving coordinator, which answers
 * 503 / an SSE error naming those experts, reports them on /ready, stays up, and serves again, with
 * identical output, once one holder is restarted with its own command line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterCoordinatorsIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int SHORT = 24;
    /** Requests cut by a kill: far more tokens than are produced before it, so the kill always lands mid-request. */
    static final int LONG = 600;
    static final List<String> PROMPTS = List.of("Once upon a time", "The cluster of experts", "In a distant land, a", "Hello");
    static final Duration REQUEST_BOUND = Duration.ofSeconds(180);
    /** A serve process prints its address once its cluster has formed: minutes when the shared host is at load 40+. */
    static final Duration START_BOUND = Duration.ofSeconds(360);
    static final Pattern EXPERTS = Pattern.compile("experts \\[([0-9, ]+)]");

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(30)).build();
    final ExecutorService clients = Executors.newCachedThreadPool();
    final List<String> nodeLog = java.util.Collections.synchronizedList(new ArrayList<>());
    final Map<Integer, String> nodeMetrics = new ConcurrentHashMap<>();
    final Map<Req, Outcome> references = new ConcurrentHashMap<>();
    final long started = System.nanoTime();
    LocalCluster cluster;
    ServeProcess a;
    ServeProcess b;
    MixtralModel localModel;
    InferenceEngine localEngine;
    ApiServer local;

    /** One completion request: prompt, length, sampling seed, streamed or not. */
    record Req(String prompt, int maxTokens, long seed, boolean stream) {
        String body() {
            return JSON.createObjectNode().put("prompt", prompt).put("max_tokens", maxTokens).put("temperature", 0.9).put("top_p", 0.95)
                    .put("top_k", 40).put("seed", seed).put("stream", stream).toString();
        }
    }

    /**
     * What the client saw: the HTTP status (0 when the connection closed before one came), the text, the finish
     * reason, whether a stream ended with [DONE], the error message (JSON error or SSE error event), or how
     * the connection broke.
     */
    record Outcome(int status, String text, String finish, boolean done, String error, Exception cut) {
        boolean completed() {
            return status == 200 && error == null && cut == null && finish != null;
        }

        /** Same answer, the way a client reads it. */
        boolean sameAnswer(Outcome o) {
            return status == o.status && text.equals(o.text) && java.util.Objects.equals(finish, o.finish) && done == o.done;
        }
    }

    @BeforeAll
    void start() throws Exception {
        cluster = LocalCluster.start(Q8, 8, 3, 2, "127.0.0.1", ClusterSupport.freePort(), List.of("--threads", "1"), line -> {
            System.out.println(line);
            nodeLog.add(line);
            Matcher m = Pattern.compile("^\\[node-(\\d+)] expert node ready: .* metrics (http://\\S+/metrics)").matcher(line);
            if (m.find()) nodeMetrics.put(Integer.parseInt(m.group(1)), m.group(2).replaceAll(",$", ""));
        }).killOnClose();
        // the single-process reference: the same API over the same file, all in this JVM
        localModel = MixtralModel.local(Q8);
        localEngine = new InferenceEngine(localModel.transformer(), new EngineConfig(8, 64, 64L << 20, 256, KvCache.Type.F32));
        local = new ApiServer(localEngine, localModel.tokenizer(), new ServerMetrics(),
                new ApiServer.Options("127.0.0.1", 0, "reference", null, () -> null)).start();
        // both coordinators start at once, each as its own `serve` process
        CompletableFuture<ServeProcess> first = CompletableFuture.supplyAsync(this::serve, clients);
        CompletableFuture<ServeProcess> second = CompletableFuture.supplyAsync(this::serve, clients);
        a = first.get(START_BOUND.toSeconds() + 30, TimeUnit.SECONDS);
        b = second.get(START_BOUND.toSeconds() + 30, TimeUnit.SECONDS);
        a.awaitReady(http, ClusterSupport.WAIT);
        b.awaitReady(http, ClusterSupport.WAIT);
        phase("3 nodes and 2 coordinators ready");
    }

    /** Prints how far the test is: figures for the time budget, not assertions. */
    private void phase(String what) {
        System.out.printf("[coordinators] %.1f s: %s%n", (System.nanoTime() - started) / 1e9, what);
    }

    private ServeProcess serve() {
        try {
            return ServeProcess.start(START_BOUND, Files.createTempDirectory("mixtral-coordinator"), "--model", Q8.toString(), "--seeds", cluster.seeds(),
                    "--host", "127.0.0.1", "--port", "0", "--grpc-port", "-1", "--threads", "1", "--node-warmup-calls", "0",
                    "--wait-timeout", START_BOUND.toSeconds() + "s", "--call-timeout", "10s");
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @AfterAll
    void stop() throws Exception {
        clients.shutdownNow();
        for (AutoCloseable c : new AutoCloseable[]{a, b, local, localEngine, localModel, cluster}) {
            try {
                if (c != null) c.close();
            } catch (Exception e) {
                System.out.println("[coordinators] closing: " + e);
            }
        }
    }

    @Test
    @Order(1)
    void twoCoordinatorsServeOnePoolAndACrashedOneLosesOnlyItsOwnRequests() throws Exception {
        // each sees the other: both are coordinators of the one cluster, neither is routed to as a node; and b routes
        // to all 3 nodes (it is ready as soon as 2 of them cover every expert, so the third may still be joining)
        await().atMost(ClusterSupport.WAIT).until(() -> coordinators(a).size() == 2 && coordinators(b).size() == 2
                && page(b).get("nodes").size() == 3);
        assertThat(coordinators(a)).isEqualTo(coordinators(b));
        String aAddress = page(a).get("self").asText();
        String bAddress = page(b).get("self").asText();
        assertThat(coordinators(b)).containsExactlyInAnyOrder(aAddress, bAddress);
        assertThat(page(b).get("nodes")).hasSize(3);

        // concurrent seeded requests to both, streamed and not: every answer the single process's
        List<Req> mixed = new ArrayList<>();
        for (int i = 0; i < 4; i++) mixed.add(new Req(PROMPTS.get(i), SHORT, 100 + i, i % 2 == 0));
        List<CompletableFuture<Outcome>> both = new ArrayList<>();
        for (Req r : mixed) for (ServeProcess s : List.of(a, b)) both.add(async(s, r, null));
        for (int i = 0; i < both.size(); i++) {
            Req r = mixed.get(i / 2);
            Outcome o = both.get(i).get(REQUEST_BOUND.toSeconds(), TimeUnit.SECONDS);
            assertThat(o.completed()).as("%s on coordinator %s: %s", r, i % 2 == 0 ? "a" : "b", o).isTrue();
            assertThat(o.sameAnswer(reference(r))).as("%s: %s vs the single process's %s", r, o, reference(r)).isTrue();
        }

        phase("8 concurrent requests on both coordinators identical to the single process");
        // b under steady load; a with long requests in flight, then killed
        Load onB = new Load(b);
        List<CompletableFuture<Void>> bClients = new ArrayList<>();
        for (int i = 0; i < 3; i++) bClients.add(CompletableFuture.runAsync(onB::loop, clients));
        await().atMost(REQUEST_BOUND).until(() -> onB.completed.get() >= 3);
        List<AtomicInteger> chunks = List.of(new AtomicInteger(), new AtomicInteger());
        List<Req> doomed = List.of(new Req(PROMPTS.get(0), LONG, 200, true), new Req(PROMPTS.get(1), LONG, 201, true),
                new Req(PROMPTS.get(2), LONG, 202, false));
        List<CompletableFuture<Outcome>> onA = List.of(async(a, doomed.get(0), chunks.get(0)), async(a, doomed.get(1), chunks.get(1)),
                async(a, doomed.get(2), null));
        await().atMost(REQUEST_BOUND).pollInterval(Duration.ofMillis(20)).until(() -> chunks.stream().allMatch(c -> c.get() >= 3));
        long completedBeforeKill = onB.completed.get();
        int logAtKill = nodeLog.size(); // on a busy host members flap unreachable and back before this: only later lines count
        a.kill();
        phase("coordinator a killed");
        System.out.println("[coordinators] coordinator a (" + aAddress + ") killed with SIGKILL after " + chunks.get(0).get() + " and "
                + chunks.get(1).get() + " streamed chunks; b had completed " + completedBeforeKill + " requests");

        for (int i = 0; i < doomed.size(); i++) {
            Req r = doomed.get(i);
            Outcome o = onA.get(i).get(REQUEST_BOUND.toSeconds(), TimeUnit.SECONDS);
            System.out.println("[coordinators] a's client of " + r + " saw: status " + o.status() + ", " + o.text().length() + " chars, cut by " + o.cut());
            // a unary client's read fails; a stream's chunked body ends short of its last chunk (an error either way)
            assertThat(o.cut() != null || (r.stream() && o.error() == null)).as("the connection closed under the client: %s", o).isTrue();
            assertThat(o.completed()).as("never a completed answer").isFalse();
            assertThat(o.done()).as("no [DONE]").isFalse();
            assertThat(o.finish()).as("no finish reason").isNull();
            assertThat(reference(r).text()).as("what did arrive is the start of the right answer").startsWith(o.text());
            if (!r.stream()) assertThat(o.status()).as("a unary request gets no status at all").isZero();
        }

        // b: everything it served before, during and after the crash is the single process's answer
        await().atMost(REQUEST_BOUND).until(() -> onB.completed.get() >= completedBeforeKill + 6);
        onB.stop.set(true);
        CompletableFuture.allOf(bClients.toArray(CompletableFuture[]::new)).get(REQUEST_BOUND.toSeconds(), TimeUnit.SECONDS);
        System.out.println("[coordinators] b served " + onB.completed.get() + " streams during a's crash, " + onB.failed.size() + " failed");
        assertThat(onB.failed).as("b's requests that failed or differed").isEmpty();

        // the nodes see a gone, keep nothing for it, and keep serving b
        await().atMost(Duration.ofSeconds(90)).until(() -> coordinators(b), c -> c.equals(List.of(bAddress)));
        for (int i = 0; i < 3; i++) {
            int n = i;
            String prefix = "[node-" + n + "] ";
            await().atMost(Duration.ofSeconds(90)).until(() -> logSince(logAtKill).stream().anyMatch(l -> l.startsWith(prefix)
                    && l.matches(".*coordinator " + Pattern.quote(aAddress) + " (is unreachable|was downed|was removed).*")));
            await().atMost(Duration.ofSeconds(90)).until(() -> queueDepth(n) == 0);
        }
        List<Long> callsBefore = new ArrayList<>();
        for (int n = 0; n < 3; n++) callsBefore.add(nodeCalls(n));
        for (Req r : List.of(new Req(PROMPTS.get(3), SHORT, 300, true), new Req(PROMPTS.get(0), SHORT, 301, false))) {
            Outcome o = send(b.base(), r, null);
            assertThat(o.completed()).as("b keeps serving: %s", o).isTrue();
            assertThat(o.sameAnswer(reference(r))).as("%s: %s", r, o).isTrue();
        }
        phase("nodes saw a go, queues empty, b serving");
        long grown = 0;
        for (int n = 0; n < 3; n++) grown += nodeCalls(n) - callsBefore.get(n);
        assertThat(grown).as("calls the nodes served for b after a's crash").isPositive();
    }

    @Test
    @Order(2)
    void whenEveryHolderOfSomeExpertsDiesRequestsFailNamingThemAndAReturningHolderRestoresService() throws Exception {
        b.awaitReady(http, ClusterSupport.WAIT);
        await().atMost(ClusterSupport.WAIT).until(() -> page(b).get("nodes").size() == 3);
        // nodes 1 and 2 are the only holders of block 1 (split(8, 3, 2)); every other expert is also on node 0
        List<Integer> killed = List.of(1, 2);
        SortedSet<Integer> lost = new TreeSet<>(cluster.node(1).experts());
        lost.retainAll(cluster.node(2).experts());
        lost.removeAll(cluster.node(0).experts());
        assertThat(lost).as("experts held by nodes 1 and 2 only").isNotEmpty();

        List<AtomicInteger> chunks = List.of(new AtomicInteger(), new AtomicInteger());
        List<Req> inFlight = List.of(new Req(PROMPTS.get(0), LONG, 400, true), new Req(PROMPTS.get(1), LONG, 401, true),
                new Req(PROMPTS.get(2), LONG, 402, false));
        List<CompletableFuture<Outcome>> running = List.of(async(b, inFlight.get(0), chunks.get(0)), async(b, inFlight.get(1), chunks.get(1)),
                async(b, inFlight.get(2), null));
        await().atMost(REQUEST_BOUND).pollInterval(Duration.ofMillis(20)).until(() -> chunks.stream().allMatch(c -> c.get() >= 3));
        for (int n : killed) cluster.kill(n);
        phase("nodes 1 and 2 killed");
        System.out.println("[coordinators] nodes " + killed + " killed: experts " + lost + " have no live holder");

        for (int i = 0; i < inFlight.size(); i++) {
            Req r = inFlight.get(i);
            // bounded by the call timeout (10 s) and the request bound, never a hang
            Outcome o = running.get(i).get(REQUEST_BOUND.toSeconds(), TimeUnit.SECONDS);
            System.out.println("[coordinators] in flight " + r + " ended: status " + o.status() + ", error: " + o.error());
            assertThat(o.cut()).as("the server answered, it did not drop the connection").isNull();
            assertThat(o.status()).isEqualTo(r.stream() ? 200 : 503);
            assertThat(o.error()).as("an error naming the experts").isNotNull();
            assertThat(named(o.error())).as(o.error()).isNotEmpty().isSubsetOf(lost);
            assertThat(o.done()).isFalse();
            assertThat(o.finish()).isNull();
            assertThat(reference(r).text()).startsWith(o.text());
        }

        // /ready says why, the server itself stays up, and new requests are refused at once, naming the experts
        String reason = "experts " + lost + " are not held by any live expert node";
        await().atMost(Duration.ofSeconds(60)).until(() -> get(b, "/ready"), r -> r.statusCode() == 503);
        JsonNode ready = JSON.readTree(get(b, "/ready").body());
        assertThat(ready.get("status").asText()).isEqualTo("not ready");
        assertThat(ready.get("reason").asText()).isEqualTo(reason);
        assertThat(get(b, "/health").statusCode()).isEqualTo(200);
        HttpResponse<String> metrics = get(b, "/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).containsPattern("(?m)^mixtral_experts_missing " + lost.size() + "(\\.0)?$");
        Outcome refused = send(b.base(), new Req(PROMPTS.get(3), SHORT, 403, false), null);
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.error()).contains(reason);
        Outcome refusedStream = send(b.base(), new Req(PROMPTS.get(3), SHORT, 404, true), null);
        assertThat(refusedStream.status()).isEqualTo(503);
        assertThat(refusedStream.error()).contains(reason);

        phase("b not ready, naming " + lost);
        // one holder back, started with its own command line: ready again and the same answers, nothing else restarted
        cluster.start(1);
        b.awaitReady(http, START_BOUND);
        phase("node-1 restarted: b ready again");
        for (Req r : List.of(new Req(PROMPTS.get(3), SHORT, 405, false), new Req(PROMPTS.get(0), SHORT, 406, true))) {
            Outcome o = send(b.base(), r, null);
            assertThat(o.completed()).as("%s", o).isTrue();
            assertThat(o.sameAnswer(reference(r))).as("%s: %s vs %s", r, o, reference(r)).isTrue();
        }
    }

    /** Clients sending seeded short streams to one server until stopped; any answer not the single process's is a failure. */
    final class Load {
        final ServeProcess server;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger completed = new AtomicInteger();
        final AtomicInteger next = new AtomicInteger();
        final ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();

        Load(ServeProcess server) {
            this.server = server;
        }

        void loop() {
            // bounded even if the stop never comes
            for (int i = 0; i < 500 && !stop.get(); i++) {
                int k = next.getAndIncrement();
                Req r = new Req(PROMPTS.get(k % PROMPTS.size()), SHORT, 500 + k % 8, true);
                Outcome o = send(server.base(), r, null);
                if (!o.completed() || !o.sameAnswer(reference(r))) failed.add(r + ": " + o);
                completed.incrementAndGet();
            }
        }
    }

    private Outcome reference(Req r) {
        return references.computeIfAbsent(r, k -> send("http://127.0.0.1:" + local.port(), k, null));
    }

    private CompletableFuture<Outcome> async(ServeProcess server, Req r, AtomicInteger chunks) {
        return CompletableFuture.supplyAsync(() -> send(server.base(), r, chunks), clients);
    }

    /** Sends {@code r} and reads the whole answer (counting streamed chunks into {@code chunks}), however it ends. */
    private Outcome send(String base, Req r, AtomicInteger chunks) {
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/v1/completions")).timeout(REQUEST_BOUND)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(r.body())).build();
        int status = 0;
        StringBuilder text = new StringBuilder();
        String finish = null;
        boolean done = false;
        String error = null;
        try {
            HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            status = resp.statusCode();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
                if (!r.stream() || status != 200) {
                    JsonNode body = JSON.readTree(in);
                    if (body.has("error")) return new Outcome(status, "", null, false, body.get("error").get("message").asText(), null);
                    JsonNode choice = body.get("choices").get(0);
                    return new Outcome(status, choice.get("text").asText(), choice.get("finish_reason").asText(), false, null, null);
                }
                for (String line; (line = in.readLine()) != null; ) {
                    if (!line.startsWith("data: ")) continue;
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) {
                        done = true;
                        continue;
                    }
                    JsonNode event = JSON.readTree(data);
                    if (event.has("error")) {
                        error = event.get("error").get("message").asText();
                        continue;
                    }
                    JsonNode choice = event.get("choices").get(0);
                    text.append(choice.get("text").asText());
                    if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asText();
                    if (chunks != null) chunks.incrementAndGet();
                }
            }
            return new Outcome(status, text.toString(), finish, done, error, null);
        } catch (IOException e) {
            return new Outcome(status, text.toString(), finish, done, error, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(status, text.toString(), finish, done, error, e);
        }
    }

    private List<String> logSince(int index) {
        synchronized (nodeLog) {
            return new ArrayList<>(nodeLog.subList(index, nodeLog.size()));
        }
    }

    private HttpResponse<String> get(ServeProcess server, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(server.base() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private ObjectNode page(ServeProcess server) throws IOException, InterruptedException {
        return (ObjectNode) JSON.readTree(get(server, "/cluster.json").body());
    }

    private List<String> coordinators(ServeProcess server) throws IOException, InterruptedException {
        List<String> list = new ArrayList<>();
        page(server).get("coordinators").forEach(c -> list.add(c.asText()));
        return list;
    }

    /** The experts an error message names ("… experts [3, 4] …"). */
    private static Set<Integer> named(String message) {
        Matcher m = EXPERTS.matcher(message);
        Set<Integer> experts = new TreeSet<>();
        while (m.find()) for (String e : m.group(1).split(",")) experts.add(Integer.parseInt(e.strip()));
        return experts;
    }

    private long queueDepth(int node) throws IOException, InterruptedException {
        return (long) nodeMetric(node, "mixtral_node_queue_depth");
    }

    private long nodeCalls(int node) throws IOException, InterruptedException {
        return (long) nodeMetric(node, "mixtral_node_calls_total");
    }

    private double nodeMetric(int node, String name) throws IOException, InterruptedException {
        String url = nodeMetrics.get(node);
        assertThat(url).as("node-" + node + "'s metrics address, from its log").isNotNull();
        String body = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(body);
        assertThat(m.find()).as(name + " on node-" + node).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
