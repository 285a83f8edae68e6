package dev.mixtral.server.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Connections that never finish a request (sent nothing, headers or body trickling, kept alive and
 * idle) do not keep an ordinary request waiting and are closed by the server after the timeouts, so
 * they cannot use up file descriptors; past {@code --max-connections} new ones are closed on arrival.
 * On each HTTP server; the server runs in its own JVM, since the JDK reads these limits once per process.
 */
class ConnectionLimitsTest {
    static final int HALF_OPEN = 2000, SLOW_HEADERS = 200, SLOW_BODIES = 100, KEPT_ALIVE = 50;
    static final String ORDINARY = "{\"prompt\":\"Once upon a time\",\"max_tokens\":2,\"temperature\":0}";

    @ParameterizedTest
    @EnumSource(HttpServerKind.class)
    void stalledConnectionsDoNotBlockOrdinaryRequestsAndAreClosedAfterTheTimeouts(HttpServerKind kind) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
        try (ApiServerProcess.Running server = ApiServerProcess.start(TinyModelFile.path(), 5, 5, 10_000, kind)) {
            String url = "http://127.0.0.1:" + server.port() + "/v1/completions";
            medianMillis(http, url, 20); // warm-up: the "without" figure is of a warm server
            double before = medianMillis(http, url, 9);
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < HALF_OPEN; i++) stalled.add(new Socket("127.0.0.1", server.port()));
                for (int i = 0; i < SLOW_HEADERS; i++) {
                    stalled.add(send(server.port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: appl"));
                }
                for (int i = 0; i < SLOW_BODIES; i++) {
                    stalled.add(send(server.port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"prompt\":\"Once"));
                }
                for (int i = 0; i < KEPT_ALIVE; i++) {
                    Socket s = send(server.port(), HEALTH);
                    byte[] head = s.getInputStream().readNBytes(12);
                    assertThat(new String(head, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
                    stalled.add(s);
                }
                long opened = System.nanoTime();
                double during = medianMillis(http, url, 9);
                double whileOpenSeconds = (System.nanoTime() - opened) / 1e9;
                System.out.printf("[connection-limits] %s: %d stalled connections: ordinary request median %.1f ms vs %.1f ms without (%.2fx; "
                        + "measured within %.1f s of opening them, timeouts 5 s)%n", kind, stalled.size(), during, before, during / before, whileOpenSeconds);

                // Every stalled connection is closed by the server: its read ends (EOF or reset) well within the bound.
                try (ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor()) {
                    List<Future<Boolean>> closed = new ArrayList<>();
                    for (Socket s : stalled) closed.add(readers.submit(() -> closedByServer(s)));
                    int count = 0;
                    for (Future<Boolean> f : closed) if (f.get(120, TimeUnit.SECONDS)) count++;
                    assertThat(count).as("stalled connections closed by the server").isEqualTo(stalled.size());
                }
            } finally {
                for (Socket s : stalled) s.close();
            }
            // on a new connection: the server has rightly closed the client's pooled ones, idle past the timeout
            HttpResponse<String> after = HttpClient.newHttpClient().send(post(url), HttpResponse.BodyHandlers.ofString());
            assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
        }
    }

    /** The JDK's server closes a connection past the limit at once; Jetty's is left in the accept queue, see the next test. */
    @Test
    void connectionsPastTheLimitAreClosedOnArrival() throws Exception {
        int limit = 40;
        try (ApiServerProcess.Running server = ApiServerProcess.start(TinyModelFile.path(), 60, 60, limit, HttpServerKind.JDK)) {
            List<Socket> held = new ArrayList<>();
            try {
                holdAnswered(server.port(), limit, held);
                try (Socket extra = send(server.port(), HEALTH)) {
                    assertThat(closedByServer(extra)).as("a connection past the limit is closed unanswered").isTrue();
                }
                for (Socket s : held.subList(0, 10)) s.close();
                HttpResponse<String> r = null;
                HttpClient http = HttpClient.newHttpClient();
                for (int i = 0; i < 100 && r == null; i++) { // the server notices the closes on its next look at them
                    try {
                        r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/health")).build(),
                                HttpResponse.BodyHandlers.ofString());
                    } catch (IOException refused) {
                        Thread.sleep(100);
                    }
                }
                assertThat(r).as("served again once connections were released").isNotNull();
                assertThat(r.statusCode()).isEqualTo(200);
            } finally {
                for (Socket s : held) s.close();
            }
        }
    }

    private static final String HEALTH = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

    /**
     * Opens {@code n} connections into {@code held}, each with a request answered, so the server has certainly
     * accepted every one of them.
     */
    private static void holdAnswered(int port, int n, List<Socket> held) throws IOException {
        for (int i = 0; i < n; i++) {
            Socket s = send(port, HEALTH);
            held.add(s);
            assertThat(new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
        }
    }

    @Test
    void onJettyAConnectionPastTheLimitWaitsUnreadUntilAnotherCloses() throws Exception {
        int limit = 40;
        try (ApiServerProcess.Running server = ApiServerProcess.start(TinyModelFile.path(), 60, 60, limit, HttpServerKind.JETTY)) {
            List<Socket> held = new ArrayList<>();
            try {
                holdAnswered(server.port(), limit, held);
                try (Socket extra = send(server.port(), HEALTH)) {
                    extra.setSoTimeout(2_000);
                    // not accepted while the limit is reached: its request is not read, so nothing comes back
                    assertThatThrownBy(() -> extra.getInputStream().read()).isInstanceOf(java.net.SocketTimeoutException.class);
                    held.removeFirst().close();
                    extra.setSoTimeout(60_000);
                    assertThat(new String(extra.getInputStream().readNBytes(12), StandardCharsets.US_ASCII))
                            .as("served once a held connection closed").isEqualTo("HTTP/1.1 200");
                }
            } finally {
                for (Socket s : held) s.close();
            }
        }
    }

    static Socket send(int port, String text) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return s;
    }

    /** True when the server ends the connection (EOF or reset) before the socket times out; data before that is skipped. */
    static boolean closedByServer(Socket s) {
        try {
            s.setSoTimeout(120_000);
            byte[] buf = new byte[4096];
            while (s.getInputStream().read(buf) >= 0) {
                // a kept-alive connection's earlier response, or the JDK's own rejection
            }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    static HttpRequest post(String url) {
        return HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(ORDINARY)).build();
    }

    static double medianMillis(HttpClient http, String url, int n) throws Exception {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            HttpResponse<String> r = http.send(post(url), HttpResponse.BodyHandlers.ofString());
            ms[i] = (System.nanoTime() - t) / 1e6;
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        Arrays.sort(ms);
        return ms[n / 2];
    }
}
