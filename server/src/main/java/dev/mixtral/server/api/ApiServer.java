package dev.mixtral.server.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.mixtral.cluster.tls.ApiTls;
import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * The OpenAI-compatible HTTP API: {@code /v1/models}, {@code /v1/completions},
 * {@code /v1/chat/completions} (with {@code stream: true} as server-sent events), plus {@code /health},
 * {@code /ready} and {@code /metrics}. One virtual thread per connection; generation itself runs in
 * the {@link InferenceEngine}'s batch.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    /** Strict about what it reads: a second document after the first, or a key given twice, is refused, not guessed at. */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /**
     * @param modelId    the name clients pass as {@code model}
     * @param apiKey     when set, {@code /v1/*} requires {@code Authorization: Bearer <apiKey>}
     * @param notReady   null when every expert is covered, else why not (answered with 503)
     */
    public record Options(String host, int port, String modelId, String apiKey, Supplier<String> notReady) {}

    private final Completions completions;
    private final ServerMetrics metrics;
    private final Options options;
    private final RequestGuard guard;
    private final HttpServer server;
    private final ApiTls tls;
    private final HttpServerKind kind;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final long created = System.currentTimeMillis() / 1000;

    public ApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, Options options) throws IOException {
        this(engine, tokenizer, metrics, options, RequestLimits.DEFAULTS, ApiTls.OFF);
    }

    public ApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, Options options, RequestLimits limits) throws IOException {
        this(engine, tokenizer, metrics, options, limits, ApiTls.OFF);
    }

    public ApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, Options options, ApiTls tls) throws IOException {
        this(engine, tokenizer, metrics, options, RequestLimits.DEFAULTS, tls);
    }

    /** {@code tls}: HTTPS with that certificate, or {@link ApiTls#OFF}. */
    public ApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, Options options, RequestLimits limits,
                     ApiTls tls) throws IOException {
        this(engine, tokenizer, metrics, options, limits, tls, HttpServerKind.DEFAULT);
    }

    /** {@code kind}: the HTTP server under the handlers. */
    public ApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, Options options, RequestLimits limits,
                     ApiTls tls, HttpServerKind kind) throws IOException {
        this.tls = tls;
        this.kind = kind;
        this.completions = new Completions(engine, tokenizer, metrics, options.notReady(), limits);
        this.metrics = metrics;
        this.options = options;
        this.guard = new RequestGuard(limits, options.apiKey());
        this.server = kind.create(new InetSocketAddress(options.host(), options.port()), limits, tls, executor);
        server.createContext("/", this::handle);
        metrics.observe(engine);
    }

    /**
     * Serves GET {@code path} (exactly that path) with {@code handler} besides the API, e.g. the cluster
     * page at {@code /} and its data. Routed here rather than by the HTTP server, whose path matching
     * differs between the JDK's and Jetty's.
     */
    public ApiServer extra(String path, com.sun.net.httpserver.HttpHandler handler) {
        extras.put(path, handler);
        return this;
    }

    private final Map<String, com.sun.net.httpserver.HttpHandler> extras = new ConcurrentHashMap<>();

    public ApiServer start() {
        server.start();
        log.info("API listening on {}://{}:{}/v1 (model '{}', {} HTTP server)", tls.scheme(), options.host(), port(), options.modelId(),
                kind.name().toLowerCase(java.util.Locale.ROOT));
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) {
        String path = ex.getRequestURI().getPath();
        String endpoint = path.startsWith("/v1/") || path.equals("/health") || path.equals("/ready") || path.equals("/metrics") ? path : "other";
        int status;
        try {
            status = route(ex, path);
        } catch (ApiException e) {
            status = e.status();
            sendError(ex, e);
        } catch (RuntimeException e) {
            log.error("request {} {} failed", ex.getRequestMethod(), path, e);
            status = 500;
            sendError(ex, new ApiException(500, "server_error", null, "internal error: " + e.getMessage()));
        } finally {
            ex.close();
        }
        metrics.httpRequests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    private int route(HttpExchange ex, String path) {
        String method = ex.getRequestMethod();
        switch (path) {
            case "/health" -> {
                requireMethod(method, "GET");
                return sendJson(ex, 200, JSON.createObjectNode().put("status", "ok"));
            }
            case "/ready" -> {
                requireMethod(method, "GET");
                String why = options.notReady().get();
                ObjectNode body = JSON.createObjectNode().put("status", why == null ? "ready" : "not ready");
                if (why != null) body.put("reason", why);
                return sendJson(ex, why == null ? 200 : 503, body);
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                return sendMetrics(ex);
            }
            default -> {
                com.sun.net.httpserver.HttpHandler extra = extras.get(path);
                if (extra != null) {
                    requireMethod(method, "GET");
                    try {
                        extra.handle(ex);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    return 200;
                }
            }
        }
        if (!path.startsWith("/v1/")) throw new ApiException(404, "not_found", null, "no such endpoint: " + path);
        guard.authorize(ex);
        try (RequestGuard.Permit _ = guard.enter()) {
            return routeV1(ex, path, method);
        }
    }

    private int routeV1(HttpExchange ex, String path, String method) {
        return switch (path) {
            case "/v1/models" -> {
                requireMethod(method, "GET");
                ObjectNode list = JSON.createObjectNode().put("object", "list");
                list.putArray("data").addObject().put("id", options.modelId()).put("object", "model")
                        .put("created", created).put("owned_by", "mixtral-cluster");
                yield sendJson(ex, 200, list);
            }
            case "/v1/completions" -> {
                requireMethod(method, "POST");
                yield complete(ex, CompletionRequest.parse(readJson(guard.readBody(ex)), false));
            }
            case "/v1/chat/completions" -> {
                requireMethod(method, "POST");
                yield complete(ex, CompletionRequest.parse(readJson(guard.readBody(ex)), true));
            }
            default -> throw new ApiException(404, "not_found", null, "no such endpoint: " + path);
        };
    }

    private int complete(HttpExchange ex, CompletionRequest req) {
        long start = System.nanoTime();
        if (req.model() != null && !req.model().equals(options.modelId())) {
            throw ApiException.badRequest("model", "model '" + req.model() + "' is not served here; this server serves '" + options.modelId() + "'");
        }
        Completions.Started run = completions.start(req, start);
        String id = (req.chat() ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        try {
            return req.stream() ? streamEvents(ex, req, run.stream(), run.handle(), id, run.promptTokens())
                    : collect(ex, req, run.stream(), id, run.promptTokens());
        } catch (InterruptedException e) {
            run.handle().cancel();
            Thread.currentThread().interrupt();
            return 499;
        } finally {
            metrics.requestDuration.observe((System.nanoTime() - start) / 1e9);
        }
    }

    /** Waits for the whole output, then answers one JSON document. */
    private int collect(HttpExchange ex, CompletionRequest req, GenerationStream stream, String id, int promptTokens) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        while (true) {
            GenerationStream.Event e = stream.next();
            switch (e) {
                case GenerationStream.Text t -> text.append(t.text());
                case GenerationStream.Failed f -> {
                    metrics.requests.labelValues("error").inc();
                    throw new ApiException(503, "service_unavailable", null, "generation failed: " + f.error().getMessage());
                }
                case GenerationStream.Done d -> {
                    metrics.requests.labelValues(d.reason().openAiName()).inc();
                    ObjectNode body = envelope(req, id, false);
                    ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
                    if (req.chat()) {
                        choice.putObject("message").put("role", "assistant").put("content", text.toString());
                    } else {
                        choice.put("text", text.toString()).putNull("logprobs");
                    }
                    choice.put("finish_reason", d.reason().openAiName());
                    body.set("usage", usage(promptTokens, stream.completionTokens()));
                    return sendJson(ex, 200, body);
                }
            }
        }
    }

    /** Server-sent events as OpenAI streams them: one {@code data: {chunk}} per piece of text, then {@code data: [DONE]}. */
    private int streamEvents(HttpExchange ex, CompletionRequest req, GenerationStream stream, InferenceEngine.Handle handle,
                             String id, int promptTokens) throws InterruptedException {
        try {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            if (req.chat()) sendEvent(out, chunk(req, id, JSON.createObjectNode().put("role", "assistant").put("content", ""), null));
            while (true) {
                GenerationStream.Event e = stream.next();
                switch (e) {
                    case GenerationStream.Text t -> sendEvent(out, chunk(req, id, t.text(), null));
                    case GenerationStream.Failed f -> {
                        metrics.requests.labelValues("error").inc();
                        ObjectNode err = JSON.createObjectNode();
                        err.putObject("error").put("message", "generation failed: " + f.error().getMessage())
                                .put("type", "service_unavailable").putNull("param").putNull("code");
                        sendEvent(out, err);
                        return 200;
                    }
                    case GenerationStream.Done d -> {
                        metrics.requests.labelValues(d.reason().openAiName()).inc();
                        if (d.reason() == FinishReason.CANCELLED) return 499;
                        sendEvent(out, chunk(req, id, req.chat() ? JSON.createObjectNode() : "", d.reason().openAiName()));
                        if (req.includeUsage()) {
                            ObjectNode last = envelope(req, id, true);
                            last.putArray("choices");
                            last.set("usage", usage(promptTokens, stream.completionTokens()));
                            sendEvent(out, last);
                        }
                        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        return 200;
                    }
                }
            }
        } catch (IOException clientGone) {
            // The client disconnected: free its slot and KV cache now, not when generation would have ended.
            handle.cancel();
            return 499;
        }
    }

    private ObjectNode chunk(CompletionRequest req, String id, Object content, String finishReason) {
        ObjectNode body = envelope(req, id, true);
        ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
        if (req.chat()) {
            choice.set("delta", content instanceof ObjectNode delta ? delta : JSON.createObjectNode().put("content", (String) content));
            choice.putNull("logprobs");
        } else {
            choice.put("text", (String) content).putNull("logprobs");
        }
        if (finishReason == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finishReason);
        return body;
    }

    private ObjectNode envelope(CompletionRequest req, String id, boolean chunk) {
        String object = req.chat() ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
        return JSON.createObjectNode().put("id", id).put("object", object).put("created", System.currentTimeMillis() / 1000)
                .put("model", options.modelId()).put("system_fingerprint", (String) null);
    }

    private static ObjectNode usage(int prompt, int completion) {
        return JSON.createObjectNode().put("prompt_tokens", prompt).put("completion_tokens", completion).put("total_tokens", prompt + completion);
    }

    private static void sendEvent(OutputStream out, JsonNode data) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void requireMethod(String actual, String expected) {
        if (!actual.equals(expected)) throw new ApiException(405, "invalid_request_error", null, "use " + expected + " for this endpoint, not " + actual);
    }

    static JsonNode readJson(byte[] body) {
        if (body.length == 0) throw ApiException.badRequest(null, "the request body is empty; send a JSON object");
        try {
            return JSON.readTree(body);
        } catch (JacksonException e) {
            throw ApiException.badRequest(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest(null, "the request body is not valid JSON: " + e.getMessage());
        }
    }

    private int sendMetrics(HttpExchange ex) {
        try {
            ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                metrics.write(out);
            }
        } catch (IOException e) {
            log.debug("metrics scrape aborted", e);
        }
        return 200;
    }

    private static int sendJson(HttpExchange ex, int status, JsonNode body) {
        try {
            byte[] bytes = JSON.writeValueAsBytes(body);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            log.debug("client went away before the response", e);
        }
        return status;
    }

    private static void sendError(HttpExchange ex, ApiException e) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode err = body.putObject("error").put("message", e.getMessage()).put("type", e.type());
        if (e.param() == null) err.putNull("param");
        else err.put("param", e.param());
        err.putNull("code");
        sendJson(ex, e.status(), body);
    }

    @Override
    public void close() {
        server.stop(1);
        executor.shutdownNow();
    }

}
