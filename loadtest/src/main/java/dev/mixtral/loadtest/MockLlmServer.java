package dev.mixtral.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * An OpenAI-compatible streaming server on loopback whose timing is known: the environment in which the load
 * tester's accuracy is proven ({@code --self-test} and the tests). Each request's TTFT is drawn from its own
 * seed, chunks follow at a fixed gap, each chunk carries {@code tokensPerChunk} tokens, and requests can be
 * made to fail (4xx, 5xx, a dropped connection, bad JSON) or the whole server to freeze for a while.
 *
 * <p>A raw HTTP/1.1 server rather than the JDK's: a dropped connection has to be a real one (a reset
 * socket mid-stream), and chunks must leave the moment they are written.
 */
public final class MockLlmServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * How the mock answers. Fractions of requests fail in each way, chosen by the request's seed.
     *
     * @param freezeAtMs  from the server's start, when it stops answering (-1: never)
     * @param freezeForMs for how long
     * @param capacity    requests generating at once (0: unlimited)
     */
    public record Behavior(String model, double ttftMinMs, double ttftMaxMs, double chunkGapMs, int tokensPerChunk, boolean sendUsage,
                           double fail4xx, double fail5xx, double drop, double badJson, long freezeAtMs, long freezeForMs, int capacity) {
        public static Behavior steady(double ttftMinMs, double ttftMaxMs, double chunkGapMs) {
            return new Behavior("mock-model", ttftMinMs, ttftMaxMs, chunkGapMs, 1, true, 0, 0, 0, 0, -1, 0, 0);
        }

        public Behavior tokensPerChunk(int k) {
            return new Behavior(model, ttftMinMs, ttftMaxMs, chunkGapMs, k, sendUsage, fail4xx, fail5xx, drop, badJson, freezeAtMs, freezeForMs, capacity);
        }

        public Behavior failures(double f4xx, double f5xx, double dropped, double bad) {
            return new Behavior(model, ttftMinMs, ttftMaxMs, chunkGapMs, tokensPerChunk, sendUsage, f4xx, f5xx, dropped, bad, freezeAtMs, freezeForMs, capacity);
        }

        public Behavior freeze(long atMs, long forMs) {
            return new Behavior(model, ttftMinMs, ttftMaxMs, chunkGapMs, tokensPerChunk, sendUsage, fail4xx, fail5xx, drop, badJson, atMs, forMs, capacity);
        }

        /** At most {@code n} requests generate at once; the others queue (their TTFT includes the wait), as on a real server. */
        public Behavior capacity(int n) {
            return new Behavior(model, ttftMinMs, ttftMaxMs, chunkGapMs, tokensPerChunk, sendUsage, fail4xx, fail5xx, drop, badJson, freezeAtMs, freezeForMs, n);
        }

        public Behavior withoutUsage() {
            return new Behavior(model, ttftMinMs, ttftMaxMs, chunkGapMs, tokensPerChunk, false, fail4xx, fail5xx, drop, badJson, freezeAtMs, freezeForMs, capacity);
        }
    }

    /** What the mock did for one request, measured on its side: the truth the client's figures are checked against. */
    public record Served(long seed, String outcome, int tokens, int chunks, long ttftNanos, long e2eNanos, long[] chunkNanos) {
        Served(long seed, String outcome, int tokens, int chunks, long ttftNanos, long e2eNanos) {
            this(seed, outcome, tokens, chunks, ttftNanos, e2eNanos, new long[0]);
        }
    }

    private final Behavior behavior;
    private final ServerSocket socket;
    private final ExecutorService connections = Executors.newVirtualThreadPerTaskExecutor();
    private final ConcurrentLinkedQueue<Served> served = new ConcurrentLinkedQueue<>();
    private final long started = System.nanoTime();
    private volatile Supplier<String> metrics = () -> "";
    private final Thread acceptor;

    private final java.util.concurrent.Semaphore slots;

    private MockLlmServer(Behavior behavior) throws IOException {
        this.behavior = behavior;
        this.slots = behavior.capacity() > 0 ? new java.util.concurrent.Semaphore(behavior.capacity(), true) : null;
        this.socket = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofPlatform().daemon().name("mock-llm-accept").start(this::accept);
    }

    /**
     * Runs the mock alone (for {@code --self-test}, which keeps it out of the client's process): arguments TTFT min and
     * max and chunk gap in ms; prints its URL on stdout, then serves until killed.
     */
    public static void main(String[] args) throws Exception {
        double min = args.length > 0 ? Double.parseDouble(args[0]) : 5, max = args.length > 1 ? Double.parseDouble(args[1]) : min;
        double gap = args.length > 2 ? Double.parseDouble(args[2]) : 2;
        MockLlmServer server = start(Behavior.steady(min, max, gap));
        System.out.println(server.url());
        System.out.flush();
        new java.util.concurrent.CountDownLatch(1).await();
    }

    public static MockLlmServer start(Behavior behavior) throws IOException {
        return new MockLlmServer(behavior);
    }

    public String url() {
        return "http://127.0.0.1:" + socket.getLocalPort();
    }

    /** The text served at {@code /metrics} (Prometheus exposition format), read at every scrape. */
    public void metrics(Supplier<String> text) {
        this.metrics = text;
    }

    public java.util.List<Served> served() {
        return java.util.List.copyOf(served);
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                s.setTcpNoDelay(true);
                connections.submit(() -> serve(s));
            } catch (IOException closed) {
                return;
            }
        }
    }

    /** One keep-alive connection: requests one after another until the client closes it. */
    private void serve(Socket s) {
        try (s; InputStream in = new BufferedInputStream(s.getInputStream()); OutputStream out = s.getOutputStream()) {
            while (true) {
                String requestLine = readLine(in);
                if (requestLine == null || requestLine.isEmpty()) return;
                int contentLength = 0;
                for (String h; (h = readLine(in)) != null && !h.isEmpty(); ) {
                    int colon = h.indexOf(':');
                    if (colon > 0 && h.substring(0, colon).strip().equalsIgnoreCase("content-length")) {
                        contentLength = Integer.parseInt(h.substring(colon + 1).strip());
                    }
                }
                byte[] body = in.readNBytes(contentLength);
                String[] parts = requestLine.split(" ");
                if (!route(s, out, parts[0], parts.length > 1 ? parts[1] : "/", body)) return;
            }
        } catch (IOException | RuntimeException e) {
            // the client went away, or the mock dropped the connection on purpose
        }
    }

    /** Answers one request; false when the connection must not be used again. */
    private boolean route(Socket s, OutputStream out, String method, String path, byte[] body) throws IOException {
        switch (path) {
            case "/v1/models" -> {
                respond(out, 200, "application/json", "{\"object\":\"list\",\"data\":[{\"id\":\"" + behavior.model() + "\",\"object\":\"model\"}]}");
                return true;
            }
            case "/metrics" -> {
                respond(out, 200, "text/plain; version=0.0.4", metrics.get());
                return true;
            }
            case "/v1/completions", "/v1/chat/completions" -> {
                if (!method.equals("POST")) {
                    respond(out, 405, "application/json", "{\"error\":{\"message\":\"POST only\"}}");
                    return true;
                }
                return complete(s, out, path.contains("chat"), JSON.readTree(body));
            }
            default -> {
                respond(out, 404, "application/json", "{\"error\":{\"message\":\"no such endpoint\"}}");
                return true;
            }
        }
    }

    private boolean complete(Socket s, OutputStream out, boolean chat, JsonNode req) throws IOException {
        long arrival = System.nanoTime();
        if (slots == null) return generate(s, out, chat, req, arrival, arrival);
        slots.acquireUninterruptibly();
        try {
            return generate(s, out, chat, req, arrival, System.nanoTime());
        } finally {
            slots.release();
        }
    }

    private boolean generate(Socket s, OutputStream out, boolean chat, JsonNode req, long arrival, long admitted) throws IOException {
        long seed = req.path("seed").asLong(0);
        int tokens = Math.max(1, req.path("max_tokens").asInt(16));
        boolean usage = behavior.sendUsage() && req.path("stream_options").path("include_usage").asBoolean(false);
        SplittableRandom random = new SplittableRandom(seed);
        double ttftMs = behavior.ttftMinMs() + random.nextDouble() * (behavior.ttftMaxMs() - behavior.ttftMinMs());
        double fate = random.nextDouble();
        waitWhileFrozen();
        if (fate < behavior.fail4xx()) {
            served.add(new Served(seed, "http_4xx", 0, 0, -1, System.nanoTime() - arrival));
            respond(out, 429, "application/json", "{\"error\":{\"message\":\"too many requests (mock)\",\"type\":\"rate_limit\"}}");
            return true;
        }
        fate -= behavior.fail4xx();
        if (fate < behavior.fail5xx()) {
            served.add(new Served(seed, "http_5xx", 0, 0, -1, System.nanoTime() - arrival));
            respond(out, 503, "application/json", "{\"error\":{\"message\":\"overloaded (mock)\",\"type\":\"service_unavailable\"}}");
            return true;
        }
        fate -= behavior.fail5xx();
        boolean drop = fate < behavior.drop();
        boolean badJson = !drop && fate - behavior.drop() < behavior.badJson();

        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String id = Long.toHexString(seed);
        if (chat) chunk(out, event(chat, id, "", null, true)); // the role chunk OpenAI sends first: no content, no token
        int k = behavior.tokensPerChunk();
        int chunks = (tokens + k - 1) / k;
        long firstAt = admitted + Math.round(ttftMs * 1e6);
        long ttft = -1;
        long[] written = new long[chunks];
        for (int c = 0; c < chunks; c++) {
            sleepUntil(firstAt + Math.round(c * behavior.chunkGapMs() * 1e6));
            waitWhileFrozen();
            if (drop && c == Math.min(1, chunks - 1)) { // a reset mid-stream, after the first chunk when there are several
                served.add(new Served(seed, "dropped", 0, c, ttft, System.nanoTime() - arrival));
                s.setSoLinger(true, 0);
                s.close();
                return false;
            }
            if (badJson && c == Math.min(1, chunks - 1)) {
                served.add(new Served(seed, "bad_json", 0, c, ttft, System.nanoTime() - arrival));
                chunk(out, "data: {\"choices\": [{\"text\": \"oops\"\n\n");
                endChunks(out);
                return true;
            }
            int n = Math.min(k, tokens - c * k);
            chunk(out, event(chat, id, "tok ".repeat(n), null, false));
            written[c] = System.nanoTime() - arrival;
            if (c == 0) ttft = written[0];
        }
        chunk(out, event(chat, id, "", "length", false));
        if (usage) {
            chunk(out, "data: {\"id\":\"" + id + "\",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
                    + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":" + promptTokens(req, chat) + ",\"completion_tokens\":" + tokens
                    + ",\"total_tokens\":" + (promptTokens(req, chat) + tokens) + "}}\n\n");
        }
        // counted before the end is sent, as a real server counts its tokens: a scrape right after the client's last
        // answer must see it
        served.add(new Served(seed, "ok", tokens, chunks, ttft, System.nanoTime() - arrival, written));
        chunk(out, "data: [DONE]\n\n");
        endChunks(out);
        return true;
    }

    /** One word per token, as the synthetic workload builds its prompts. */
    private static int promptTokens(JsonNode req, boolean chat) {
        String text = chat ? req.path("messages").path(0).path("content").asText("") : req.path("prompt").asText("");
        return text.isBlank() ? 0 : text.strip().split("\\s+").length;
    }

    private static String event(boolean chat, String id, String text, String finish, boolean role) {
        String finishJson = finish == null ? "null" : "\"" + finish + "\"";
        String escaped = text.replace("\\", "\\\\").replace("\"", "\\\"");
        if (chat) {
            String delta = role ? "{\"role\":\"assistant\",\"content\":\"\"}" : finish != null ? "{}" : "{\"content\":\"" + escaped + "\"}";
            return "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":" + delta
                    + ",\"finish_reason\":" + finishJson + "}]}\n\n";
        }
        return "data: {\"id\":\"" + id + "\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"" + escaped
                + "\",\"finish_reason\":" + finishJson + "}]}\n\n";
    }

    private void waitWhileFrozen() {
        if (behavior.freezeAtMs() < 0) return;
        long from = started + behavior.freezeAtMs() * 1_000_000, to = from + behavior.freezeForMs() * 1_000_000;
        long now = System.nanoTime();
        if (now >= from && now < to) sleepUntil(to);
    }

    private static void sleepUntil(long deadline) {
        for (long wait; (wait = deadline - System.nanoTime()) > 0; ) LockSupport.parkNanos(wait);
    }

    private static void chunk(OutputStream out, String data) throws IOException {
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static void endChunks(OutputStream out) throws IOException {
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static void respond(OutputStream out, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        out.write(String.format(Locale.ROOT, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
                status, status == 200 ? "OK" : "Error", type, bytes.length).getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        for (int b; (b = in.read()) != -1; ) {
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.US_ASCII);
            }
            line.write(b);
            if (line.size() > 65536) throw new IOException("header line too long");
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        socket.close();
        connections.shutdownNow();
        acceptor.interrupt();
    }
}
