package dev.mixtral.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Over a thousand generated malformed and adversarial requests ({@link HostileRequests}) over real
 * sockets, on each HTTP server: every one refused with a 4xx, none a 5xx, none left hanging; afterwards
 * the server still answers an ordinary request exactly as before, and its heap after GC has not grown.
 * Every refusal is in OpenAI's error shape with a message, also those the HTTP server makes before any
 * handler runs (bad request line, oversized headers, malformed framing), except on the JDK's server,
 * which answers those with its own fixed text or closes the connection, and offers no way to change that.
 */
class HostileRequestBarrageTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final long SEED = 20261206L;
    static final String ORDINARY = "{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"temperature\":0}";
    /** Heap growth allowed after the barrage: GC noise and lazily built caches, far below what a per-request leak would leave. */
    static final long HEAP_GROWTH_BOUND = 48L << 20;

    record Outcome(int status, String body) {
        static final Outcome CLOSED = new Outcome(-1, "");
        static final Outcome HUNG = new Outcome(-2, "");
    }

    @ParameterizedTest
    @EnumSource(HttpServerKind.class)
    void everyHostileRequestIsRefusedCleanlyAndTheServerStaysWell(HttpServerKind kind) throws Exception {
        List<HostileRequests.Case> cases = HostileRequests.generate(SEED);
        assertThat(cases).hasSizeGreaterThanOrEqualTo(1000);
        try (MixtralModel model = MixtralModel.open(TinyModelFile.path(), LocalExperts::loadAll);
             InferenceEngine engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 64, 1L << 28, 64, KvCache.Type.F32));
             ApiServer server = new ApiServer(engine, model.tokenizer(), new ServerMetrics(),
                     new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null), RequestLimits.DEFAULTS,
                     dev.mixtral.cluster.tls.ApiTls.OFF, kind).start()) {
            HttpClient http = HttpClient.newHttpClient();
            String url = "http://127.0.0.1:" + server.port() + "/v1/completions";
            String expected = ordinary(http, url);

            run(server.port(), cases.subList(0, 100)); // warm-up, so the heap figure is not class loading and JIT
            long heapBefore = heapAfterGc();
            List<Outcome> outcomes = run(server.port(), cases);
            long heapAfter = heapAfterGc();

            Map<String, Integer> byCategory = new TreeMap<>();
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                HostileRequests.Case c = cases.get(i);
                Outcome o = outcomes.get(i);
                byCategory.merge(c.category() + " " + (o.status() < 0 ? (o == Outcome.HUNG ? "hung" : "closed") : o.status()), 1, Integer::sum);
                String problem = problem(kind, c, o);
                if (problem != null) failures.add(c + " → " + problem);
            }
            System.out.printf("[barrage] %s: %d requests, seed %d; outcomes by category: %s%n", kind, cases.size(), SEED, byCategory);
            System.out.printf("[barrage] heap after GC: %.1f MB before, %.1f MB after%n", heapBefore / 1e6, heapAfter / 1e6);
            assertThat(failures).as("requests not refused cleanly").isEmpty();
            assertThat(ordinary(http, url)).as("the same answer as before the barrage").isEqualTo(expected);
            assertThat(heapAfter - heapBefore).as("heap growth after GC, bytes").isLessThan(HEAP_GROWTH_BOUND);
        }
    }

    /** Null when the outcome is what the case requires, else what is wrong. */
    static String problem(HttpServerKind kind, HostileRequests.Case c, Outcome o) {
        if (o == Outcome.HUNG) return "no answer within the bound";
        if (c.answerer() == HostileRequests.Answerer.HTTP_SERVER && kind == HttpServerKind.JDK) {
            if (o == Outcome.CLOSED) return c.expectedStatus() == 0 ? null : "closed unanswered, expected " + c.expectedStatus();
            if (c.expectedStatus() != 0) return o.status() == c.expectedStatus() ? null : "status " + o.status() + ", expected " + c.expectedStatus();
            return o.status() >= 400 && o.status() < 500 ? null : "status " + o.status() + ": " + abbreviate(o.body());
        }
        if (o == Outcome.CLOSED) return "closed unanswered";
        // Jetty refuses a NUL in the path itself, as a bad request, before routing
        int expected = kind == HttpServerKind.JETTY && c.description().equals("/v1/%00") ? 400 : c.expectedStatus();
        if (expected != 0 ? o.status() != expected : o.status() < 400 || o.status() >= 500) {
            return "status " + o.status() + (expected != 0 ? ", expected " + expected : "") + ": " + abbreviate(o.body());
        }
        if (c.description().startsWith("HEAD ")) return null; // a HEAD answer has no body
        try {
            JsonNode err = JSON.readTree(o.body()).get("error");
            if (err == null || !err.path("message").isTextual() || err.path("message").asText().isBlank()
                    || !err.path("type").isTextual() || !err.has("param") || !err.has("code")) {
                return "not OpenAI's error shape: " + abbreviate(o.body());
            }
        } catch (IOException e) {
            return "body is not JSON: " + abbreviate(o.body());
        }
        return null;
    }

    static List<Outcome> run(int port, List<HostileRequests.Case> cases) throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (HostileRequests.Case c : cases) futures.add(pool.submit(() -> send(port, c)));
            List<Outcome> out = new ArrayList<>();
            for (Future<Outcome> f : futures) out.add(f.get(5, TimeUnit.MINUTES));
            return out;
        }
    }

    /** Sends the bytes (a writer thread, since the server may answer and close before reading them all) and reads the whole answer. */
    static Outcome send(int port, HostileRequests.Case c) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    out.write(c.bytes());
                    out.flush();
                    if (c.halfClose()) s.shutdownOutput();
                } catch (IOException refusedMidway) {
                    // the server answered and closed before taking everything: its answer is what is checked
                }
            });
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            try {
                InputStream in = s.getInputStream();
                byte[] buf = new byte[8192];
                for (int n; (n = in.read(buf)) >= 0; ) answer.write(buf, 0, n);
            } catch (SocketTimeoutException e) {
                return Outcome.HUNG;
            } catch (IOException reset) {
                // a reset after (or instead of) the answer: whatever arrived is parsed below
            }
            writer.join(60_000);
            return parse(answer.toByteArray());
        }
    }

    static Outcome parse(byte[] raw) {
        String text = new String(raw, StandardCharsets.UTF_8);
        if (!text.startsWith("HTTP/1.1 ") || text.length() < 12) return Outcome.CLOSED;
        int status = Integer.parseInt(text.substring(9, 12));
        int bodyAt = text.indexOf("\r\n\r\n");
        return new Outcome(status, bodyAt < 0 ? "" : text.substring(bodyAt + 4));
    }

    static String ordinary(HttpClient http, String url) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(ORDINARY)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).at("/choices/0/text").asText();
    }

    static long heapAfterGc() throws InterruptedException {
        var memory = ManagementFactory.getMemoryMXBean();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(100);
            least = Math.min(least, memory.getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }
}
