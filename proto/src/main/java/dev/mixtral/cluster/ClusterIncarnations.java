package dev.mixtral.cluster;

import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Keeps this process in the cluster. A member the cluster removed without being asked to (downed by the
 * split-brain resolver after it stalled, e.g. under SIGSTOP or a long pause, or after a partition) has
 * its actor system terminated by Pekko and can never be let back in under that identity. Processes here
 * hold no cluster state, so instead of living on outside the cluster this starts a new incarnation on
 * the same address, which joins through the seeds like any restarted process.
 */
public final class ClusterIncarnations<T> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterIncarnations.class);
    /** Lets the address be released and the others see the old incarnation removed before rejoining. */
    private static final long REJOIN_DELAY_MS = 1000;

    private final String what;
    private final IntFunction<ActorSystem<T>> starter;
    private volatile ActorSystem<T> current;
    private volatile boolean closing;
    private volatile int port;

    /**
     * @param what    names this member in logs
     * @param starter starts one incarnation listening on the given cluster port (0: any free port)
     */
    public ClusterIncarnations(String what, int port, IntFunction<ActorSystem<T>> starter) {
        this.what = what;
        this.starter = starter;
        start(port);
    }

    private void start(int onPort) {
        ActorSystem<T> system = starter.apply(onPort);
        // the same port each time, so seeds stay valid and the cluster sees a restart of this address
        this.port = Integer.parseInt(ClusterContract.address(system).substring(ClusterContract.address(system).lastIndexOf(':') + 1));
        this.current = system;
        system.getWhenTerminated().thenRun(() -> {
            if (closing || asked(system)) return;
            LOG.warn("{} was removed from the cluster (downed, e.g. after being unreachable longer than the split-brain"
                    + " resolver waits); rejoining on the same address in {} ms", what, REJOIN_DELAY_MS);
            CompletableFuture.delayedExecutor(REJOIN_DELAY_MS, TimeUnit.MILLISECONDS).execute(this::rejoin);
        });
    }

    /**
     * Whether this incarnation stopped because it was asked to: the JVM is exiting (SIGTERM runs Pekko's
     * own shutdown hook, possibly before ours), it left, or it was terminated. Anything else (downed,
     * quarantined) is the cluster removing it.
     */
    private static boolean asked(ActorSystem<?> system) {
        var reason = CoordinatedShutdown.get(Adapter.toClassic(system)).getShutdownReason();
        return reason.isPresent() && (reason.get() == CoordinatedShutdown.jvmExitReason()
                || reason.get() == CoordinatedShutdown.clusterLeavingReason()
                || reason.get() == CoordinatedShutdown.actorSystemTerminateReason());
    }

    private synchronized void rejoin() {
        if (closing) return;
        try {
            start(port);
        } catch (RuntimeException e) {
            LOG.warn("{}: rejoining failed ({}); trying again in {} ms", what, e.getMessage(), REJOIN_DELAY_MS);
            CompletableFuture.delayedExecutor(REJOIN_DELAY_MS, TimeUnit.MILLISECONDS).execute(this::rejoin);
        }
    }

    /** The incarnation running now. */
    public ActorSystem<T> current() {
        return current;
    }

    /** Leaves the cluster and stops for good. */
    @Override
    public synchronized void close() {
        closing = true;
        ClusterContract.leave(current);
    }
}
