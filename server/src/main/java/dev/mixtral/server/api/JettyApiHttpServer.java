package dev.mixtral.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.mixtral.cluster.tls.ApiTls;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.spi.JettyHttpServer;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutorService;

/**
 * The API's {@code com.sun.net.httpserver} handlers on Jetty ({@code jetty-http-spi}), with
 * {@link RequestLimits} mapped onto Jetty's own settings, and every refusal Jetty makes before a
 * handler runs (a bad request line, headers too large, a malformed body framing, ...) answered in
 * OpenAI's error shape rather than as an HTML page.
 */
final class JettyApiHttpServer {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Header lines a request may have: the JDK server's default ({@code jdk.httpserver.maxReqHeaders}); Jetty bounds only their size. */
    static final int MAX_HEADERS = 200;

    private JettyApiHttpServer() {}

    static HttpServer create(InetSocketAddress address, int backlog, RequestLimits limits, ApiTls tls, ExecutorService handlers) {
        // Jetty's own threads select and parse; each request's handler, which blocks on the generation,
        // runs on a virtual thread of ours.
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("http");
        threads.setVirtualThreadsExecutor(handlers);
        Server server = new Server(threads);
        server.setHandler(new BeforeHandlers(new ContextHandlerCollection(true))); // JettyHttpServer puts the contexts in the collection
        server.setErrorHandler(new OpenAiErrorHandler());

        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(limits.maxHeaderBytes());
        // Jetty reuses a header line seen earlier on the connection when a new one matches it ignoring case, and
        // by default it hands back the earlier line's value: "Authorization: Bearer KEY" after "... Bearer key"
        // would be read as the first. Values must arrive as sent (RequestLimitsTest.apiKeysAreComparedWhole).
        http.setHeaderCacheCaseSensitive(true);
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        HttpConnectionFactory http11 = new HttpConnectionFactory(http);
        ServerConnector connector;
        if (tls.enabled()) {
            // The API's clients reach it by any name or address: no SNI host check.
            http.addCustomizer(new SecureRequestCustomizer(false));
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setSslContext(tls.sslContext());
            connector = new ServerConnector(server, new SslConnectionFactory(ssl, http11.getProtocol()), http11);
        } else {
            connector = new ServerConnector(server, http11);
        }
        connector.setHost(address.getHostString());
        connector.setPort(address.getPort());
        connector.setAcceptQueueSize(backlog);
        // Idle between requests, or while a request's bytes trickle in: Jetty counts both from the last byte read.
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(limits.maxConnections(), connector));

        JettyHttpServer spi = new JettyHttpServer(server, false, http);
        try {
            spi.bind(address, backlog); // records the address; the connector above is the one that listens
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return spi;
    }

    /**
     * What the JDK's server does and Jetty does not by default, before a handler runs: refuses a request with
     * more than {@link #MAX_HEADERS} header lines (431), and keeps the idle timeout for connections between
     * requests. Jetty would otherwise fail a request whose handler has read its body and is waiting, without
     * writing, for longer than the idle timeout: a request queued behind a full batch, before its first token.
     * A handler blocked reading a body that does not come still times out.
     */
    static final class BeforeHandlers extends Handler.Wrapper {
        BeforeHandlers(Handler next) {
            super(next);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            int count = request.getHeaders().size();
            if (count <= MAX_HEADERS) {
                request.addIdleTimeoutListener(timeout -> false);
                return super.handle(request, response, callback);
            }
            Response.writeError(request, response, callback, HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE_431,
                    count + " header lines; this server takes at most " + MAX_HEADERS);
            return true;
        }
    }

    /** Jetty's error page as {@code {"error":{"message","type","param","code"}}}. */
    static final class OpenAiErrorHandler extends ErrorHandler {
        @Override
        protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
            if (code == HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505) {
                // a request line without a version (HTTP/0.9) or with a garbled one: the client's fault, so a 4xx
                code = HttpStatus.BAD_REQUEST_400;
                response.setStatus(code);
            }
            ObjectNode body = JSON.createObjectNode();
            String reason = HttpStatus.getMessage(code);
            String text = message == null || message.isBlank() ? reason : message;
            body.putObject("error").put("message", "HTTP " + code + " " + reason + (text.equals(reason) ? "" : ": " + text))
                    .put("type", code >= 500 ? "server_error" : "invalid_request_error").putNull("param").putNull("code");
            byte[] bytes;
            try {
                bytes = JSON.writeValueAsBytes(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
            response.write(true, ByteBuffer.wrap(bytes), callback);
        }
    }
}
