package dev.mixtral.loadtest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sends one streaming request to an OpenAI-compatible endpoint and times its server-sent events as they
 * arrive. Blocking reads on the caller's (virtual) thread; a watchdog closes a stream that outlives --timeout,
 * so a stalled server costs a timeout, never a hang.
 */
final class StreamingClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What to send, fixed for a run. */
    record Target(URI baseUrl, boolean chat, String model, String apiKey, double temperature, boolean ignoreEos, Duration timeout) {
        URI endpoint() {
            return baseUrl.resolve(chat ? "/v1/chat/completions" : "/v1/completions");
        }
    }

    private final Target target;
    private final HttpClient http;
    private final ScheduledExecutorService watchdog;

    StreamingClient(Target target) {
        this.target = target;
        // HTTP/1.1: one request per connection at a time, like every LLM benchmark client; HTTP/2 would multiplex
        // streams over one connection and change what the server sees.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(Math.min(10, Math.max(1, target.timeout().toSeconds()))))
                .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "loadtest-timeouts");
            t.setDaemon(true);
            return t;
        });
    }

    byte[] body(RequestSpec spec) {
        ObjectNode body = JSON.createObjectNode();
        if (target.model() != null) body.put("model", target.model());
        if (target.chat()) {
            var messages = body.putArray("messages");
            for (RequestSpec.Message m : spec.chatMessages()) messages.addObject().put("role", m.role()).put("content", m.content());
        } else {
            body.put("prompt", spec.promptText());
        }
        body.put("max_tokens", spec.maxTokens());
        body.put("temperature", target.temperature());
        body.put("seed", spec.seed());
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        if (target.ignoreEos()) body.put("ignore_eos", true); // vLLM and llama.cpp honour it; others ignore or reject it
        try {
            return JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Sends {@code spec} now and reads its stream to the end.
     *
     * @param clock         the run's time origin ({@link System#nanoTime()} at its start)
     * @param intendedNanos when the schedule meant it to start, from the origin
     */
    RequestRecord send(RequestSpec spec, long clock, long intendedNanos, long slotWaitNanos) {
        HttpRequest.Builder req = HttpRequest.newBuilder(target.endpoint())
                .timeout(target.timeout()) // until the response headers
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body(spec)));
        if (target.apiKey() != null && !target.apiKey().isEmpty()) req.header("Authorization", "Bearer " + target.apiKey());
        Stream s = new Stream(spec, clock, intendedNanos, slotWaitNanos);
        s.sendNanos = System.nanoTime() - clock;
        HttpResponse<InputStream> response;
        try {
            response = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpConnectTimeoutException | ConnectException e) {
            return s.failed(ErrorKind.CONNECT, 0, "cannot connect to " + target.endpoint() + ": " + e);
        } catch (HttpTimeoutException e) {
            return s.failed(ErrorKind.TIMEOUT, 0, "no response headers within " + target.timeout().toMillis() + " ms");
        } catch (IOException e) {
            return s.failed(e.getCause() instanceof ConnectException ? ErrorKind.CONNECT : ErrorKind.DROPPED, 0, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return s.failed(ErrorKind.DROPPED, 0, "interrupted");
        }
        return s.read(response);
    }

    /** The state of one request while its stream is read. */
    private final class Stream {
        final RequestSpec spec;
        final long clock;
        final long intendedNanos;
        final long slotWaitNanos;
        long sendNanos;
        long[] chunks = new long[16];
        int nChunks;
        int usageOutput = -1;
        int usagePrompt = -1;

        Stream(RequestSpec spec, long clock, long intendedNanos, long slotWaitNanos) {
            this.spec = spec;
            this.clock = clock;
            this.intendedNanos = intendedNanos;
            this.slotWaitNanos = slotWaitNanos;
        }

        RequestRecord read(HttpResponse<InputStream> response) {
            int status = response.statusCode();
            AtomicBoolean timedOut = new AtomicBoolean();
            long remaining = target.timeout().toNanos() - (System.nanoTime() - clock - sendNanos);
            try (InputStream in = response.body()) {
                if (status != 200) {
                    String body = new String(in.readNBytes(2000), StandardCharsets.UTF_8).strip();
                    ErrorKind kind = status >= 400 && status < 500 ? ErrorKind.HTTP_4XX : status >= 500 && status < 600 ? ErrorKind.HTTP_5XX : ErrorKind.HTTP_OTHER;
                    return failed(kind, status, "HTTP " + status + ": " + body);
                }
                ScheduledFuture<?> alarm = watchdog.schedule(() -> {
                    timedOut.set(true);
                    closeQuietly(in);
                }, Math.max(0, remaining), TimeUnit.NANOSECONDS);
                try {
                    return events(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)), status);
                } finally {
                    alarm.cancel(false);
                }
            } catch (IOException e) {
                if (timedOut.get()) return failed(ErrorKind.TIMEOUT, status, "stream not finished within " + target.timeout().toMillis() + " ms");
                return failed(ErrorKind.DROPPED, status, "connection lost mid-stream: " + e);
            }
        }

        private RequestRecord events(BufferedReader in, int status) throws IOException {
            boolean finished = false;
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data:")) continue; // blank separators, ": comments", "event:" lines
                String data = line.substring(5).strip();
                if (data.equals("[DONE]")) return done(status);
                JsonNode event;
                try {
                    event = JSON.readTree(data);
                } catch (JsonProcessingException e) {
                    return failed(ErrorKind.BAD_JSON, status, "bad JSON in stream: " + abbreviate(data));
                }
                if (event == null || !event.isObject()) return failed(ErrorKind.BAD_JSON, status, "stream event is not a JSON object: " + abbreviate(data));
                if (event.hasNonNull("error")) return failed(ErrorKind.STREAM_ERROR, status, "error in stream: " + abbreviate(event.get("error").toString()));
                JsonNode choice = event.path("choices").path(0);
                if (!choice.isMissingNode()) {
                    if (!content(choice).isEmpty()) chunk(System.nanoTime() - clock - sendNanos);
                    if (choice.hasNonNull("finish_reason")) finished = true;
                }
                JsonNode usage = event.get("usage");
                if (usage != null && usage.isObject()) {
                    usageOutput = usage.path("completion_tokens").asInt(-1);
                    usagePrompt = usage.path("prompt_tokens").asInt(-1);
                }
            }
            // EOF without [DONE]: accepted only after a finish_reason (some servers omit [DONE])
            return finished ? done(status) : failed(ErrorKind.DROPPED, status, "connection closed before the stream finished");
        }

        private static String content(JsonNode choice) {
            JsonNode delta = choice.get("delta");
            if (delta != null) {
                String c = delta.path("content").asText("");
                return !c.isEmpty() ? c : delta.path("reasoning_content").asText("");
            }
            return choice.path("text").asText("");
        }

        private void chunk(long nanos) {
            if (nChunks == chunks.length) chunks = Arrays.copyOf(chunks, chunks.length * 2);
            chunks[nChunks++] = nanos;
        }

        private RequestRecord done(int status) {
            if (nChunks == 0) return failed(ErrorKind.NO_OUTPUT, status, "the stream finished without any content");
            return record(null, status, null);
        }

        RequestRecord failed(ErrorKind kind, int status, String message) {
            return record(kind, status, message);
        }

        private RequestRecord record(ErrorKind kind, int status, String message) {
            long end = System.nanoTime() - clock;
            return new RequestRecord(spec.index(), intendedNanos, sendNanos, slotWaitNanos, end, Arrays.copyOf(chunks, nChunks),
                    usageOutput, usagePrompt, spec.expectedInputTokens(), spec.maxTokens(), kind, status, message);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // closing is how the watchdog interrupts the blocked read; a failure to close changes nothing
        }
    }

    /** The model the server lists first under /v1/models. */
    static String firstModel(URI baseUrl, String apiKey, Duration timeout) {
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build()) {
            HttpRequest.Builder req = HttpRequest.newBuilder(baseUrl.resolve("/v1/models")).timeout(timeout.compareTo(Duration.ofSeconds(30)) < 0 ? timeout : Duration.ofSeconds(30)).GET();
            if (apiKey != null && !apiKey.isEmpty()) req.header("Authorization", "Bearer " + apiKey);
            HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalArgumentException(baseUrl + "/v1/models answered HTTP " + r.statusCode() + ": " + abbreviate(r.body().strip()) + " (give --model)");
            }
            JsonNode id = JSON.readTree(r.body()).path("data").path(0).path("id");
            if (!id.isTextual()) throw new IllegalArgumentException(baseUrl + "/v1/models lists no model (give --model)");
            return id.asText();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot reach " + baseUrl + "/v1/models: " + e + " (is the server running? or give --model)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        http.close();
    }
}
