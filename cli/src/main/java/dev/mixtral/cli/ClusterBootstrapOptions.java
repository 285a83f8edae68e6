package dev.mixtral.cli;

import dev.mixtral.cluster.ClusterJoin;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.List;

/**
 * How a cluster member finds the cluster when not by --seeds: Pekko Management cluster bootstrap. The options of
 * every command that joins a cluster (expert-node, coordinator, serve, generate, …); the Helm chart sets them through
 * the environment.
 */
final class ClusterBootstrapOptions {
    @Option(names = "--cluster-bootstrap", paramLabel = "METHOD", defaultValue = "${env:MIXTRAL_CLUSTER_BOOTSTRAP}",
            description = {"Instead of --seeds: form or join the cluster by cluster bootstrap. Every member serves a contact point"
                    + " on --management-port and finds the others' by METHOD: kubernetes-api (the pods matching --bootstrap-selector;"
                    + " what the Helm chart uses) or config (--bootstrap-contact-points). A member joins the cluster any contact point"
                    + " is in; when there is none, the lowest contact point founds it once --bootstrap-required-contact-points answered."
                    + " Env: MIXTRAL_CLUSTER_BOOTSTRAP."})
    String method;

    @Option(names = "--bootstrap-service", paramLabel = "NAME", defaultValue = "${env:MIXTRAL_BOOTSTRAP_SERVICE:-mixtral}",
            description = "With --cluster-bootstrap: the service discovery looks up (fills %%s in the selector). Default: ${DEFAULT-VALUE} (env MIXTRAL_BOOTSTRAP_SERVICE).")
    String service;

    @Option(names = "--bootstrap-selector", paramLabel = "LABELS", defaultValue = "${env:MIXTRAL_BOOTSTRAP_SELECTOR:-app=%s}",
            description = "With kubernetes-api: the pods of the cluster, a label selector (k=v,…); their container port named 'management'"
                    + " is their contact point. Default: app=%%s (env MIXTRAL_BOOTSTRAP_SELECTOR).")
    String selector;

    @Option(names = "--bootstrap-contact-points", paramLabel = "HOST:PORT[,…]", defaultValue = "${env:MIXTRAL_BOOTSTRAP_CONTACT_POINTS}",
            description = "With config: every member's management endpoint, this one's included, the same list everywhere."
                    + " Env: MIXTRAL_BOOTSTRAP_CONTACT_POINTS.")
    String contactPoints;

    @Option(names = "--bootstrap-required-contact-points", paramLabel = "N", defaultValue = "${env:MIXTRAL_BOOTSTRAP_REQUIRED_CONTACT_POINTS}",
            description = "With --cluster-bootstrap: contact points that must answer before the lowest founds a cluster."
                    + " Default: config: all of them; kubernetes-api: 2 (env MIXTRAL_BOOTSTRAP_REQUIRED_CONTACT_POINTS).")
    Integer requiredContactPoints;

    @Option(names = "--management-port", paramLabel = "PORT", defaultValue = "${env:MIXTRAL_MANAGEMENT_PORT:-7626}",
            description = "With --cluster-bootstrap: the port of this member's contact point (Pekko Management HTTP; plain HTTP,"
                    + " read-only: health and the members it knows). Stable: the others probe it. Default: ${DEFAULT-VALUE} (env MIXTRAL_MANAGEMENT_PORT).")
    int managementPort;

    @Option(names = "--management-host", paramLabel = "HOST", defaultValue = "${env:MIXTRAL_MANAGEMENT_HOST}",
            description = "With --cluster-bootstrap: where the contact point listens, as discovery reports it (kubernetes-api: the pod IP)."
                    + " Default: the cluster address's host (env MIXTRAL_MANAGEMENT_HOST).")
    String managementHost;

    /** Whether bootstrap was asked for. */
    boolean given() {
        return method != null && !method.isBlank();
    }

    /**
     * How to join: bootstrap when asked for, else {@code seeds}; null when neither is given (a process that
     * joins no cluster, or an expert node founding its own).
     *
     * @param host the member's cluster host: the contact point's host unless --management-host is given
     */
    ClusterJoin join(List<String> seeds, String host) {
        if (!given()) return seeds.isEmpty() ? null : ClusterJoin.seeds(seeds);
        if (!seeds.isEmpty()) throw new UserException("give --seeds or --cluster-bootstrap, not both (MIXTRAL_SEEDS / MIXTRAL_CLUSTER_BOOTSTRAP)");
        try {
            ClusterJoin.Discovery discovery = ClusterJoin.Discovery.of(method);
            List<String> points = contactPoints == null ? List.of()
                    : Arrays.stream(contactPoints.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            int required = requiredContactPoints != null ? requiredContactPoints
                    : discovery == ClusterJoin.Discovery.CONFIG ? Math.max(1, points.size()) : 2;
            String mhost = managementHost == null || managementHost.isBlank() ? host : managementHost.strip();
            return new ClusterJoin.Bootstrap(discovery, service, discovery == ClusterJoin.Discovery.KUBERNETES_API ? selector : null,
                    points, required, mhost, managementPort);
        } catch (IllegalArgumentException e) {
            throw new UserException("--cluster-bootstrap " + method.strip() + ": " + e.getMessage());
        }
    }
}
