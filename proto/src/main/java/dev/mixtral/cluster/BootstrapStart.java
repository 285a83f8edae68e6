package dev.mixtral.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigUtil;
import dev.mixtral.cluster.tls.ClusterTls;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts a member that joins by {@link ClusterJoin.Bootstrap}: the shared member settings with no seeds, the
 * management endpoint (the contact point others probe) bound first, then Pekko's cluster bootstrap.
 */
final class BootstrapStart {
    /** The same bound as Artery's bind timeout (cluster.conf): an overloaded host is slow to bind, not broken. */
    private static final long BIND_TIMEOUT_S = 30;

    private BootstrapStart() {}

    static <T> ActorSystem<T> start(ClusterJoin.Bootstrap b, Behavior<T> guardian, String host, int port, List<String> roles, ClusterTls tls) {
        Config config = settings(b).withFallback(ClusterContract.config(host, port, List.of(), roles, tls));
        ActorSystem<T> system = ActorSystem.create(guardian, ClusterContract.SYSTEM_NAME, config);
        try {
            PekkoManagement.get(system).start().toCompletableFuture().get(BIND_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            ClusterContract.leave(system);
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("the management endpoint (cluster bootstrap's contact point) could not listen on "
                    + b.self() + ": " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            ClusterContract.leave(system);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the management endpoint", e);
        }
        ClusterBootstrap.get(system).start();
        return system;
    }

    /** The bootstrap's own settings, over the member's. */
    static Config settings(ClusterJoin.Bootstrap b) {
        Map<String, Object> s = new HashMap<>();
        s.put("pekko.management.http.hostname", b.managementHost());
        s.put("pekko.management.http.port", b.managementPort());
        String discovery = "pekko.management.cluster.bootstrap.contact-point-discovery.";
        s.put(discovery + "service-name", b.serviceName());
        s.put(discovery + "discovery-method", b.discovery().method);
        s.put(discovery + "required-contact-point-nr", b.requiredContactPoints());
        s.put("pekko.management.cluster.bootstrap.join-decider.class", LoggedJoinDecider.class.getName());
        switch (b.discovery()) {
            case KUBERNETES_API -> {
                // the pod's container port by that name; by pod IP, so no pod DNS records are needed and the
                // member recognises its own contact point (its management host is its pod IP)
                s.put(discovery + "port-name", ClusterJoin.Bootstrap.MANAGEMENT_PORT_NAME);
                s.put("pekko.discovery.kubernetes-api.pod-label-selector", b.labelSelector());
                s.put("pekko.discovery.kubernetes-api.use-raw-ip", true);
            }
            case CONFIG -> {
                // the list is exactly the management endpoints: several on one host (different ports) are all kept
                s.put("pekko.management.cluster.bootstrap.contact-point.filter-on-fallback-port", false);
                List<Map<String, Object>> endpoints = new ArrayList<>();
                for (String c : b.contactPoints()) {
                    int colon = c.lastIndexOf(':');
                    endpoints.add(Map.of("host", c.substring(0, colon), "port", Integer.parseInt(c.substring(colon + 1))));
                }
                s.put(ConfigUtil.joinPath("pekko", "discovery", "config", "services", b.serviceName(), "endpoints"), endpoints);
            }
        }
        return ConfigFactory.parseMap(s);
    }
}
