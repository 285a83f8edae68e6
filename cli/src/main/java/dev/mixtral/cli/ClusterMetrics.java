package dev.mixtral.cli;

import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.server.api.ServerMetrics;
import io.prometheus.metrics.core.metrics.CounterWithCallback;

/** The coordinator's resilience and load figures as Prometheus metrics, read at scrape time. */
final class ClusterMetrics {
    private ClusterMetrics() {}

    static void register(ServerMetrics metrics, Coordinator coordinator) {
        var stats = coordinator.experts().stats();
        metrics.gauge("mixtral_expert_balancedness", "Mean ÷ max tokens computed per serving expert node over the last 30 s (1.0: perfectly even)",
                coordinator.experts()::balancedness);
        metrics.gauge("mixtral_expert_nodes", "Expert nodes routed to now", () -> coordinator.routingTable().nodes().size());
        metrics.gauge("mixtral_experts_missing", "Experts no live expert node holds", () -> coordinator.routingTable().missing().size());
        counter(metrics, "mixtral_expert_failovers_total", "Expert computations answered by a replica after their node failed", stats::failovers);
        counter(metrics, "mixtral_expert_hedges_total", "Expert computations also sent to a replica because their node was slower than the hedging budget", stats::hedges);
        counter(metrics, "mixtral_expert_node_suspicions_total", "Times a node was taken out of routing on a failed call", coordinator::suspicions);
        CounterWithCallback.builder().name("mixtral_expert_replications_total")
                .help("Extra replicas of hot experts added to or dropped from the routing (serve --rebalance), by change")
                .labelNames("change").callback(cb -> {
                    cb.call(coordinator.replicasAdded(), "added");
                    cb.call(coordinator.replicasDropped(), "dropped");
                }).register(metrics.registry());
        metrics.gauge("mixtral_expert_extra_replicas", "Extra replicas of hot experts routed to now",
                () -> coordinator.routingTable().nodes().stream().mapToInt(n -> n.extras().size()).sum());
    }

    private static void counter(ServerMetrics metrics, String name, String help, java.util.function.LongSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(metrics.registry());
    }
}
