package dev.mixtral.cluster;

import dev.mixtral.cluster.tls.ClusterTls;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.discovery.ServiceDiscovery;
import scala.Option;

import java.util.Comparator;
import java.util.List;

/**
 * How a member finds the cluster: at static {@link Seeds} (the rule of {@link SeedRule}), or by Pekko Management
 * cluster {@link Bootstrap}: every member serves a contact point (an HTTP endpoint on its management port), finds
 * the others' through service discovery, and joins the cluster any of them is in; when none is in one, the member
 * with the lowest contact point founds it once enough of them answered. Every process of one cluster uses the same mode.
 */
public sealed interface ClusterJoin {
    /** Starts a member listening for cluster traffic on {@code host:port} ({@code port} 0: any free port) that joins this way. */
    <T> ActorSystem<T> start(Behavior<T> guardian, String host, int port, List<String> roles, ClusterTls tls);

    /** One line for the start-up log: the mode, and whether and when the member at {@code self} ({@code host:port}) may found a cluster. */
    String explain(String self);

    /** Where the member looks for the cluster, for messages such as "could not join the cluster {where}". */
    String where();

    static ClusterJoin seeds(List<String> seeds) {
        return new Seeds(seeds);
    }

    /** The cluster's seeds, {@code host:port} of members; every process is given the same list. */
    record Seeds(List<String> seeds) implements ClusterJoin {
        public Seeds {
            seeds = List.copyOf(seeds);
        }

        @Override
        public <T> ActorSystem<T> start(Behavior<T> guardian, String host, int port, List<String> roles, ClusterTls tls) {
            return ClusterContract.start(guardian, host, port, seeds, roles, tls);
        }

        @Override
        public String explain(String self) {
            return "seed nodes: " + SeedRule.explain(self, seeds);
        }

        @Override
        public String where() {
            return "at " + String.join(",", seeds);
        }
    }

    /** How bootstrap finds the contact points. */
    enum Discovery {
        /** The pods the label selector matches, at their container port named {@value Bootstrap#MANAGEMENT_PORT_NAME}, by pod IP. */
        KUBERNETES_API("kubernetes-api"),
        /** A fixed list of {@code host:port} contact points (local use and tests). */
        CONFIG("config");

        public final String method;

        Discovery(String method) {
            this.method = method;
        }

        public static Discovery of(String method) {
            for (Discovery d : values()) if (d.method.equalsIgnoreCase(method.strip())) return d;
            throw new IllegalArgumentException("unknown discovery method '" + method + "': kubernetes-api or config");
        }
    }

    /**
     * Pekko Management cluster bootstrap.
     *
     * @param serviceName           what discovery looks up (config: the entry of the contact points; kubernetes-api:
     *                              fills a {@code %s} in the selector)
     * @param labelSelector         kubernetes-api: the pods whose contact points are probed (e.g. {@code app=x,tier=y})
     * @param contactPoints         config: {@code host:port} of every member's management endpoint, this one's included
     * @param requiredContactPoints how many contact points must answer before the lowest may found a cluster
     * @param managementHost        where this member's contact point listens and what it is known as (kubernetes-api: the pod IP)
     * @param managementPort        its port: stable, the same on every pod (discovery finds it by name, probes use it)
     */
    record Bootstrap(Discovery discovery, String serviceName, String labelSelector, List<String> contactPoints,
                     int requiredContactPoints, String managementHost, int managementPort) implements ClusterJoin {
        /** The name of the management port in a pod spec: what kubernetes-api discovery looks for. */
        public static final String MANAGEMENT_PORT_NAME = "management";
        public static final int DEFAULT_MANAGEMENT_PORT = 7626;

        public Bootstrap {
            contactPoints = contactPoints == null ? List.of() : contactPoints.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
            if (serviceName == null || serviceName.isBlank()) throw new IllegalArgumentException("the bootstrap service name is empty");
            if (managementHost == null || managementHost.isBlank()) throw new IllegalArgumentException("the management host is empty");
            if (managementPort < 1 || managementPort > 65535) {
                throw new IllegalArgumentException("the management port must be 1..65535 (a stable port: the others probe it), got " + managementPort);
            }
            if (requiredContactPoints < 1) throw new IllegalArgumentException("the required contact points must be >= 1, got " + requiredContactPoints);
            for (String c : contactPoints) if (!c.matches(".+:\\d+")) throw new IllegalArgumentException("contact point '" + c + "' is not HOST:PORT");
            switch (discovery) {
                case CONFIG -> {
                    if (contactPoints.isEmpty()) throw new IllegalArgumentException("config discovery needs the contact points (HOST:PORT of each member's management endpoint)");
                    if (requiredContactPoints > contactPoints.size()) {
                        throw new IllegalArgumentException("the required contact points (" + requiredContactPoints + ") exceed the "
                                + contactPoints.size() + " contact points given: no member could ever found the cluster");
                    }
                }
                case KUBERNETES_API -> {
                    if (labelSelector == null || labelSelector.isBlank()) throw new IllegalArgumentException("kubernetes-api discovery needs a pod label selector");
                    if (!contactPoints.isEmpty()) throw new IllegalArgumentException("contact points are found by kubernetes-api discovery, not given");
                }
            }
        }

        /** This member's contact point, {@code host:port}. */
        public String self() {
            return managementHost + ":" + managementPort;
        }

        /**
         * The contact point that founds the cluster when none exists, of a config list: the lowest in Pekko's own
         * order of discovered targets. Config discovery reports no IP address, so that is the host as text, then
         * the port (kubernetes-api reports pod IPs, which order first, as numbers).
         */
        public String lowestContactPoint() {
            Comparator<ServiceDiscovery.ResolvedTarget> pekkoOrder = ServiceDiscovery.ResolvedTarget$.MODULE$.addressOrdering();
            return contactPoints.stream().min(Comparator.comparing(Bootstrap::asConfigDiscoveryReportsIt, pekkoOrder)).orElseThrow();
        }

        private static ServiceDiscovery.ResolvedTarget asConfigDiscoveryReportsIt(String contactPoint) {
            int colon = contactPoint.lastIndexOf(':');
            return new ServiceDiscovery.ResolvedTarget(contactPoint.substring(0, colon),
                    Option.<Object>apply(Integer.parseInt(contactPoint.substring(colon + 1))), Option.empty());
        }

        @Override
        public <T> ActorSystem<T> start(Behavior<T> guardian, String host, int port, List<String> roles, ClusterTls tls) {
            return BootstrapStart.start(this, guardian, host, port, roles, tls);
        }

        @Override
        public String explain(String self) {
            String rule = "joins the cluster any contact point is in; if none is in one, once " + requiredContactPoints
                    + " contact points answered and discovery was stable for 5 s, the one with the lowest address founds it and the others join it";
            return switch (discovery) {
                case KUBERNETES_API -> "cluster bootstrap (kubernetes-api): the contact points are the pods matching '" + labelSelector.replace("%s", serviceName)
                        + "' at their port named '" + MANAGEMENT_PORT_NAME + "', this member's is " + self() + "; " + rule;
                case CONFIG -> "cluster bootstrap (config): contact points " + contactPoints + "; " + rule + ": "
                        + (!contactPoints.contains(self()) ? "this member's own contact point " + self() + " is not among them, so it only ever joins"
                        : lowestContactPoint().equals(self()) ? "this member (" + self() + ") is the lowest, so it founds the cluster when there is none"
                        : "the lowest is " + lowestContactPoint() + ", so this member (" + self() + ") never founds a cluster");
            };
        }

        @Override
        public String where() {
            return switch (discovery) {
                case KUBERNETES_API -> "through cluster bootstrap (pods matching '" + labelSelector.replace("%s", serviceName) + "')";
                case CONFIG -> "through cluster bootstrap (contact points " + String.join(",", contactPoints) + ")";
            };
        }
    }
}
