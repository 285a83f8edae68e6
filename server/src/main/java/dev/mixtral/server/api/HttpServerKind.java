package dev.mixtral.server.api;

import com.sun.net.httpserver.HttpServer;
import dev.mixtral.cluster.tls.ApiTls;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.concurrent.ExecutorService;

/**
 * Which HTTP server runs the API's {@code com.sun.net.httpserver} handlers: the JDK's built-in one, or
 * Jetty through its implementation of the same API. The handlers are the same on both; what differs is
 * everything below them (connection handling, parsing, limits, and how refusals look). See
 * docs/http-server.md for the measurements behind the default.
 */
public enum HttpServerKind {
    JDK {
        @Override
        HttpServer create(InetSocketAddress address, RequestLimits limits, ApiTls tls, ExecutorService handlers) throws IOException {
            JdkHttpServerLimits.apply(limits);
            HttpServer server = tls.bind(address, BACKLOG);
            if (!server.getClass().getName().startsWith("sun.net.httpserver.")) {
                server.stop(0);
                throw new IllegalStateException("HttpServer.create gave " + server.getClass().getName() + ", not the JDK's server: another "
                        + "HTTP server provider was chosen before " + PROVIDER_PROPERTY + " was set");
            }
            server.setExecutor(handlers);
            return server;
        }
    },
    JETTY {
        @Override
        HttpServer create(InetSocketAddress address, RequestLimits limits, ApiTls tls, ExecutorService handlers) {
            return JettyApiHttpServer.create(address, BACKLOG, limits, tls, handlers);
        }
    };

    static final int BACKLOG = 128;
    private static final String PROVIDER_PROPERTY = "com.sun.net.httpserver.HttpServerProvider";

    static {
        pinJdkProvider();
    }

    /**
     * Makes the JDK's own server the process's provider of {@code com.sun.net.httpserver}, unless one was named:
     * jetty-http-spi registers Jetty as a provider, and the JDK would pick it up for every {@code HttpServer.create}
     * in the process (the metrics endpoints' too). Jetty is used only when asked for by name (JETTY above). The
     * JDK reads this property once, on the first {@code HttpServer.create}: call this before any.
     */
    public static void pinJdkProvider() {
        if (System.getProperty(PROVIDER_PROPERTY) == null) System.setProperty(PROVIDER_PROPERTY, "sun.net.httpserver.DefaultHttpServerProvider");
    }

    /**
     * The default of {@code serve --http-server} and of every {@code ApiServer} not given a kind: the JDK's, or
     * what {@code MIXTRAL_HTTP_SERVER} names (so that, e.g., the whole test suite can be run on Jetty).
     */
    public static final HttpServerKind DEFAULT = fromEnvironment(System.getenv("MIXTRAL_HTTP_SERVER"));

    /** A server on {@code address}, not started, whose handlers run on {@code handlers} (one virtual thread each). */
    abstract HttpServer create(InetSocketAddress address, RequestLimits limits, ApiTls tls, ExecutorService handlers) throws IOException;

    static HttpServerKind fromEnvironment(String value) {
        return value == null || value.isBlank() ? JDK : parse(value);
    }

    /** {@code jdk} or {@code jetty}, any case. */
    public static HttpServerKind parse(String name) {
        try {
            return valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown HTTP server '" + name + "': use jdk or jetty");
        }
    }
}
