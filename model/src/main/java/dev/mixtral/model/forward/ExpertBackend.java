package dev.mixtral.model.forward;

import java.util.function.UnaryOperator;

/**
 * Where a model's experts run, and for how long: in this process, or on a cluster's expert nodes. A
 * backend is started ready to compute (or says why not), and owns what it holds: whoever opened it
 * (the model) closes it, once.
 */
public interface ExpertBackend extends AutoCloseable {
    /** Told of every call to an expert node as it ends: which node, how long, whether it succeeded. */
    @FunctionalInterface
    interface NodeCallObserver {
        void nodeCall(String nodeAddress, long nanos, boolean ok);
    }

    /** What the forward pass calls. */
    ExpertExecutor executor();

    /** Null when every expert can be computed now, else why not (serving answers 503 meanwhile). */
    default String notReady() {
        return null;
    }

    /** One line on what computing the experts has cost so far, or null when there is nothing to say. */
    default String statistics() {
        return null;
    }

    /** Reports calls to expert nodes (for metrics); a backend without nodes never calls it. */
    default void observeNodeCalls(NodeCallObserver observer) {}

    /** Releases what the backend holds (connections, cluster membership). Idempotent. */
    @Override
    void close();

    /** Experts computed in this process by {@code executor}, which holds nothing to release. */
    static ExpertBackend inProcess(ExpertExecutor executor) {
        return new ExpertBackend() {
            @Override public ExpertExecutor executor() { return executor; }
            @Override public void close() {}
        };
    }

    /** The same backend with its executor wrapped by {@code decorate} (e.g. to count routed tokens). */
    /** This backend as {@code type} (looking through decorations), for the edge code that needs a concrete backend's extras. */
    default <T> java.util.Optional<T> unwrap(Class<T> type) {
        return type.isInstance(this) ? java.util.Optional.of(type.cast(this)) : java.util.Optional.empty();
    }

    default ExpertBackend decorated(UnaryOperator<ExpertExecutor> decorate) {
        ExpertBackend inner = this;
        ExpertExecutor decorated = decorate.apply(inner.executor());
        return new ExpertBackend() {
            @Override public ExpertExecutor executor() { return decorated; }
            @Override public String notReady() { return inner.notReady(); }
            @Override public String statistics() { return inner.statistics(); }
            @Override public void observeNodeCalls(NodeCallObserver observer) { inner.observeNodeCalls(observer); }
            @Override public void close() { inner.close(); }
            @Override public <T> java.util.Optional<T> unwrap(Class<T> type) { return inner.unwrap(type); }
        };
    }
}
