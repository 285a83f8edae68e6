package dev.mixtral.server.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The connection-level limits of {@link RequestLimits}, given to the JDK's built-in HTTP server
 * ({@code com.sun.net.httpserver}) through the system properties it reads. That server enforces them
 * below any handler, where a handler cannot: closing a connection that has sent nothing, or whose
 * headers or body trickle in, without a thread waiting on it.
 *
 * <p>The JDK reads these properties once per process, when its first server is created; so they are
 * set before that, and a property the operator set with {@code -D} is left as given. A later server
 * in the same process asking for different values runs with the first one's, which is logged.
 */
final class JdkHttpServerLimits {
    private static final Logger log = LoggerFactory.getLogger(JdkHttpServerLimits.class);
    private static Map<String, String> applied;

    private JdkHttpServerLimits() {}

    /** Sets the properties unless set already; call before the first {@code HttpServer.create}. */
    static synchronized void apply(RequestLimits limits) {
        Map<String, String> wanted = properties(limits);
        if (applied != null) {
            if (!applied.equals(wanted)) log.warn("HTTP connection limits are per process; keeping the first API server's {}", applied);
            return;
        }
        Map<String, String> effective = new LinkedHashMap<>();
        wanted.forEach((key, value) -> {
            String given = System.getProperty(key);
            if (given == null) System.setProperty(key, value);
            effective.put(key, given == null ? value : given);
        });
        applied = wanted;
        log.info("HTTP connection limits: {}", effective);
    }

    static Map<String, String> properties(RequestLimits limits) {
        long idleMillis = limits.idleTimeout().toMillis();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("jdk.httpserver.maxConnections", Integer.toString(limits.maxConnections()));
        // Closes kept-alive connections idle this long; a new connection that sends nothing is closed
        // after the smaller of this and maxReqTime.
        p.put("sun.net.httpserver.idleInterval", Long.toString(limits.idleTimeout().toSeconds()));
        // How often idle connections are looked for (default 10 s): often enough that a short timeout
        // is kept to within a quarter of itself.
        p.put("sun.net.httpserver.clockTick", Long.toString(Math.clamp(idleMillis / 4, 250, 10_000)));
        // From a request's first byte until its body has been read. The response side (maxRspTime)
        // stays unlimited: a streamed generation may rightly take many minutes.
        p.put("sun.net.httpserver.maxReqTime", Long.toString(limits.requestReadTimeout().toSeconds()));
        p.put("sun.net.httpserver.maxReqHeaderSize", Integer.toString(limits.maxHeaderBytes()));
        return p;
    }
}
