package dev.mixtral.server.api;

import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.ExpertBatch;
import dev.mixtral.model.forward.ExpertExecutor;
import dev.mixtral.model.kernel.VectorWidth;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.io.OutputStream;
import java.util.function.Supplier;

/**
 * The coordinator's Prometheus metrics, named as vLLM and llama.cpp users expect to find them:
 * prefix {@code mixtral_}, snake_case, base units (seconds, bytes), counters ending in {@code _total}.
 */
public final class ServerMetrics {
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
            0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    final Histogram timeToFirstToken;
    final Histogram interTokenLatency;
    final Histogram requestDuration;
    final Counter promptTokens;
    final Counter generationTokens;
    final Counter requests;
    final Counter httpRequests;
    private final Counter expertTokens;
    private final Histogram expertCallDuration;

    public ServerMetrics() {
        timeToFirstToken = Histogram.builder().name("mixtral_time_to_first_token_seconds")
                .help("Time from request arrival to its first generated token").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        interTokenLatency = Histogram.builder().name("mixtral_inter_token_latency_seconds")
                .help("Time between consecutive generated tokens of a request").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        requestDuration = Histogram.builder().name("mixtral_request_duration_seconds")
                .help("End-to-end request latency").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        promptTokens = Counter.builder().name("mixtral_prompt_tokens_total").help("Prompt tokens processed").register(registry);
        generationTokens = Counter.builder().name("mixtral_generation_tokens_total").help("Tokens generated").register(registry);
        requests = Counter.builder().name("mixtral_requests_total").help("Finished generation requests by finish reason (stop, length, cancelled, error)")
                .labelNames("finish_reason").register(registry);
        httpRequests = Counter.builder().name("mixtral_http_requests_total").help("HTTP requests by endpoint and status code")
                .labelNames("endpoint", "status").register(registry);
        expertTokens = Counter.builder().name("mixtral_expert_tokens_total").help("Tokens routed to each expert of each layer")
                .labelNames("layer", "expert").register(registry);
        expertCallDuration = Histogram.builder().name("mixtral_expert_call_duration_seconds")
                .help("Duration of one layer's call to one expert node, by node address and outcome").labelNames("node", "outcome")
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        JvmMetrics.builder().register(registry);
        gauge("mixtral_kernel_vector_bits", "Vector width the weight kernels run at on this process (results are the same at every width)",
                () -> VectorWidth.BITS);
    }

    /** Gauges read from the engine at scrape time. */
    public void observe(InferenceEngine engine) {
        gauge("mixtral_requests_running", "Requests in the running batch", () -> engine.stats().running());
        gauge("mixtral_requests_waiting", "Requests queued for admission", () -> engine.stats().waiting());
        gauge("mixtral_kv_cache_reserved_bytes", "KV cache memory reserved by running requests", () -> engine.stats().kvReservedBytes());
        gauge("mixtral_kv_cache_usage_ratio", "Reserved fraction of the KV cache budget",
                () -> (double) engine.stats().kvReservedBytes() / engine.stats().kvBudgetBytes());
        CounterWithCallback.builder().name("mixtral_engine_steps_total").help("Forward steps run so far")
                .callback(cb -> cb.call(engine.stats().steps())).register(registry);
    }

    /** A gauge whose value is read from {@code value} at every scrape. */
    public void gauge(String name, String help, Supplier<Number> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get().doubleValue())).register(registry);
    }

    /** Records one expert-node call (see {@code RemoteExperts.observe}). */
    public void expertCall(String node, long nanos, boolean ok) {
        expertCallDuration.labelValues(node, ok ? "ok" : "error").observe(nanos / 1e9);
    }

    /** Wraps the expert executor so every routed token is counted per (layer, expert). */
    public ExpertExecutor counting(ExpertExecutor experts) {
        return new Counting(experts);
    }

    /** Counts, then delegates. */
    private final class Counting implements ExpertExecutor {
        private final ExpertExecutor delegate;

        Counting(ExpertExecutor delegate) {
            this.delegate = delegate;
        }

        @Override
        public float[][] compute(ExpertBatch batch) {
            count(batch);
            return delegate.compute(batch);
        }
    }

    private void count(ExpertBatch batch) {
        String layer = Integer.toString(batch.layer());
        for (int i = 0; i < batch.experts().length; i++) {
            expertTokens.labelValues(layer, Integer.toString(batch.experts()[i])).inc(batch.rows()[i]);
        }
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** Writes the text exposition format (version 0.0.4). */
    public void write(OutputStream out) throws IOException {
        new PrometheusTextFormatWriter(false).write(out, registry.scrape());
    }
}
