package dev.mixtral.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.mixtral.cluster.tls.ArteryTls;
import dev.mixtral.cluster.tls.ClusterTls;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The membership half of the wire contract, {@code mixtral/v1/cluster.conf}, as code both sides share:
 * the role names, how a member's Pekko system is configured and started, and how it leaves. A
 * coordinator and an expert node differ only in their roles.
 */
public final class ClusterContract {
    private static final Config FILE = ConfigFactory.parseResources("mixtral/v1/cluster.conf");
    private static final Config NAMES = FILE.getConfig("mixtral.cluster");

    public static final String SYSTEM_NAME = NAMES.getString("system-name");
    public static final String NODE_ROLE = NAMES.getString("node-role");
    public static final String COORDINATOR_ROLE = NAMES.getString("coordinator-role");
    public static final String GRPC_ROLE_PREFIX = NAMES.getString("grpc-role-prefix");
    public static final String EXPERTS_ROLE_PREFIX = NAMES.getString("experts-role-prefix");
    public static final String FINGERPRINT_ROLE_PREFIX = NAMES.getString("fingerprint-role-prefix");
    /** How often a member that may not found a cluster asks the seeds again (see cluster.conf). */
    static final Duration JOIN_RETRY_INTERVAL = NAMES.getDuration("join-retry-interval");

    private ClusterContract() {}

    /**
     * Starts a member's actor system listening for cluster traffic on {@code host:port} ({@code port} 0:
     * any free port), joining at {@code seeds} ({@code host:port} of running members) with {@code roles},
     * over the shared settings, with cluster traffic secured by {@code tls}.
     */
    public static <T> ActorSystem<T> start(Behavior<T> guardian, String host, int port, List<String> seeds, List<String> roles,
                                           ClusterTls tls) {
        return ActorSystem.create(guardian, SYSTEM_NAME, config(host, port, seeds, roles, tls));
    }

    /**
     * The settings of a member at {@code host:port} with these seeds (empty for cluster bootstrap), roles and
     * TLS. One that may not found a cluster ({@link SeedRule#mayFound}) asks
     * the seeds again every {@code join-retry-interval} instead of every {@code seed-node-timeout},
     * which only the founder needs to be long.
     */
    static Config config(String host, int port, List<String> seeds, List<String> roles, ClusterTls tls) {
        List<String> seedAddresses = new ArrayList<>();
        for (String s : seeds) seedAddresses.add("pekko://" + SYSTEM_NAME + "@" + s.strip());
        Map<String, Object> own = new HashMap<>(Map.of(
                "pekko.remote.artery.canonical.hostname", host,
                "pekko.remote.artery.canonical.port", port,
                "pekko.cluster.seed-nodes", seedAddresses,
                "pekko.cluster.roles", roles));
        if (!SeedRule.mayFound(host + ":" + port, seeds)) {
            own.put("pekko.cluster.seed-node-timeout", JOIN_RETRY_INTERVAL.toMillis() + "ms");
        }
        return ConfigFactory.parseMap(own)
                .withFallback(ArteryTls.settings(tls))
                .withFallback(FILE)
                .withFallback(ConfigFactory.load());
    }

    /** The value a member advertises in the role starting with {@code prefix}, or null. */
    public static String roleValue(Member member, String prefix) {
        for (String r : member.getRoles()) if (r.startsWith(prefix)) return r.substring(prefix.length());
        return null;
    }

    /** A running member's own cluster address, {@code host:port}: what other members give as a seed. */
    public static String address(ActorSystem<?> system) {
        Address a = Cluster.get(system).selfMember().address();
        return a.host().get() + ":" + a.port().get();
    }

    /** Leaves the cluster and stops, waiting up to 10 s (if it cannot say goodbye, the failure detector tells the others). */
    public static void leave(ActorSystem<?> system) {
        system.terminate();
        try {
            system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // stopping anyway
        }
    }
}
