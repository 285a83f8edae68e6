package dev.mixtral.node;

import dev.mixtral.model.kernel.VectorWidth;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.SortedSet;
import java.util.function.Supplier;
import java.util.function.LongSupplier;

/**
 * An expert node's Prometheus endpoint ({@code /metrics}): tokens computed per expert, compute time,
 * calls served and in flight (its queue depth), mapped model bytes. Read from {@link NodeStats} at
 * scrape time, so the compute path pays nothing for it.
 */
public final class NodeMetrics implements AutoCloseable {
    private final HTTPServer server;

    private NodeMetrics(HTTPServer server) {
        this.server = server;
    }

    /** Serves the node's metrics on {@code host:port} (port 0: any free port). */
    /** {@code experts}: those held now (read at each scrape: extra experts come and go). */
    public static NodeMetrics start(NodeStats stats, Supplier<SortedSet<Integer>> experts, LongSupplier mappedBytes, String host, int port) {
        PrometheusRegistry registry = new PrometheusRegistry();
        CounterWithCallback.builder().name("mixtral_node_expert_tokens_total").help("Token rows computed by each expert held here (all layers; extra experts too)")
                .labelNames("expert").callback(cb -> {
                    for (int e : experts.get()) cb.call(stats.rows(e), Integer.toString(e));
                }).register(registry);
        CounterWithCallback.builder().name("mixtral_node_compute_seconds_total").help("Time spent computing experts")
                .callback(cb -> cb.call(stats.computeNanos() / 1e9)).register(registry);
        CounterWithCallback.builder().name("mixtral_node_calls_total").help("Layer calls served")
                .callback(cb -> cb.call(stats.calls())).register(registry);
        GaugeWithCallback.builder().name("mixtral_node_queue_depth").help("Layer calls in flight or waiting on this node")
                .callback(cb -> cb.call(stats.inFlight())).register(registry);
        GaugeWithCallback.builder().name("mixtral_node_mapped_bytes").help("Bytes of the model file mapped by this node (its experts, extra ones included)")
                .callback(cb -> cb.call(mappedBytes.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("mixtral_kernel_vector_bits").help("Vector width the weight kernels run at on this node (results are the same at every width)")
                .callback(cb -> cb.call(VectorWidth.BITS)).register(registry);
        JvmMetrics.builder().register(registry);
        try {
            return new NodeMetrics(HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.close();
    }
}
