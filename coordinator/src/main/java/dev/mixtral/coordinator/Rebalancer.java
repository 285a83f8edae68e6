package dev.mixtral.coordinator;

import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Replicates hot experts onto less loaded nodes while serving, and drops the replicas when they are no
 * longer needed. Every period it looks at the tokens per (layer, expert) of the last window, asks
 * {@link RebalancePolicy} for at most one change, and makes it:
 * <ul>
 *   <li>add: the node maps the expert from the model file it already has (LoadExpert, refused beyond its
 *       {@code --max-extra-experts}), then the routing table gives it a share of that expert's tokens;</li>
 *   <li>drop: the routing table stops sending the expert there first, and the node unmaps it (UnloadExpert)
 *       only once the calls that may still use the old table have ended.</li>
 * </ul>
 * Replicas compute the same bits, so no output changes; failover and hedging treat an extra replica like
 * any other holder.
 */
public final class Rebalancer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Rebalancer.class);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30); // mapping an expert may page in a lot on a slow disk

    /**
     * @param period how often to decide (and at most one change per period)
     * @param policy when to add and drop
     */
    public record Settings(Duration period, RebalancePolicy policy) {
        public static final Settings OFF = new Settings(Duration.ZERO, RebalancePolicy.DEFAULT);

        public Settings {
            if (period.isNegative()) throw new IllegalArgumentException("the rebalance period must be >= 0 (0: off)");
        }

        public boolean enabled() {
            return !period.isZero();
        }

        /** Seconds of recent load a decision looks at: three periods, within the load's window. */
        int windowSeconds() {
            return (int) Math.clamp(3 * Math.max(1, period.toSeconds()), 1, ExpertLoad.WINDOW_SECONDS);
        }
    }

    private final NodeRegistry registry;
    private final ExpertLoad load;
    private final String fingerprint;
    private final Settings settings;
    private final Duration unloadGrace;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "rebalancer");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong added = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    // node id → its extra experts when it refused another: full until it holds fewer
    private final Map<String, Integer> full = new ConcurrentHashMap<>();
    // dropped from routing, to be unloaded once no call can use them any more
    private final java.util.Set<Drop> pendingUnloads = ConcurrentHashMap.newKeySet();

    private record Drop(RemoteNode node, int expert) {}

    /** {@code callTimeout}: the coordinator's call deadline (a dropped replica is unmapped only after the calls that may use it). */
    Rebalancer(NodeRegistry registry, ExpertLoad load, String fingerprint, Settings settings, Duration callTimeout) {
        this.registry = registry;
        this.load = load;
        this.fingerprint = fingerprint;
        this.settings = settings;
        this.unloadGrace = callTimeout.multipliedBy(2).plusSeconds(1); // a call and its hedge
    }

    void start() {
        long ms = settings.period().toMillis();
        worker.scheduleWithFixedDelay(this::tick, ms, ms, TimeUnit.MILLISECONDS);
        LOG.info("rebalancing hot experts every {} s over the last {} s of load ({})", settings.period().toMillis() / 1000.0,
                settings.windowSeconds(), settings.policy());
    }

    /** Extra replicas added so far. */
    public long added() {
        return added.get();
    }

    /** Extra replicas dropped so far. */
    public long dropped() {
        return dropped.get();
    }

    private void tick() {
        try {
            RoutingTable table = registry.table();
            full.entrySet().removeIf(f -> table.nodes().stream().noneMatch(n -> n.id().equals(f.getKey()) && n.extras().size() >= f.getValue()));
            Optional<RebalancePolicy.Change> change = settings.policy().decide(table, load.perExpert(settings.windowSeconds()), full.keySet());
            if (change.isEmpty()) return;
            if (change.get().add()) add(change.get()); else drop(change.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("rebalancing failed: {}", e.toString());
        }
    }

    private void add(RebalancePolicy.Change c) throws InterruptedException {
        RemoteNode node = c.node();
        try {
            node.client().loadExpert(fingerprint, c.expert(), CALL_TIMEOUT).get(CALL_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Status s = Status.fromThrowable(e.getCause());
            if (s.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                full.put(node.id(), node.extras().size());
                LOG.info("not replicating expert {} onto {}: {}", c.expert(), node, s.getDescription());
            } else {
                LOG.warn("could not replicate expert {} onto {}: {}", c.expert(), node, s.getCode() + ": " + s.getDescription());
            }
            return;
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warn("could not replicate expert {} onto {}: no answer within {} s", c.expert(), node, CALL_TIMEOUT.toSeconds());
            return;
        }
        if (registry.addExtra(node.id(), c.expert()).join()) {
            added.incrementAndGet();
            LOG.info("{}", c);
        } else {
            unload(node, c.expert()); // it left meanwhile: undo the load if it is still there
        }
    }

    private void drop(RebalancePolicy.Change c) {
        if (!registry.removeExtra(c.node().id(), c.expert()).join()) return;
        dropped.incrementAndGet();
        LOG.info("{}", c);
        Drop d = new Drop(c.node(), c.expert());
        pendingUnloads.add(d);
        worker.schedule(() -> {
            if (pendingUnloads.remove(d)) unload(d.node(), d.expert());
        }, unloadGrace.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void unload(RemoteNode node, int expert) {
        node.client().unloadExpert(fingerprint, expert, CALL_TIMEOUT).whenComplete((d, error) -> {
            if (error != null) LOG.debug("unloading expert {} on {}: {}", expert, node, error.toString());
        });
    }

    /**
     * Stops rebalancing and gives the nodes their memory back: each extra replica leaves the routing
     * table, then is unloaded.
     */
    @Override
    public void close() {
        worker.shutdownNow();
        java.util.List<Drop> unloads = new java.util.ArrayList<>(pendingUnloads);
        for (RemoteNode n : registry.table().nodes()) {
            for (int e : n.extras()) {
                try {
                    registry.removeExtra(n.id(), e).get(5, TimeUnit.SECONDS);
                } catch (Exception error) {
                    LOG.debug("dropping expert {} on {} on closing: {}", e, n, error.toString());
                }
                unloads.add(new Drop(n, e));
            }
        }
        for (Drop d : unloads) {
            try {
                d.node().client().unloadExpert(fingerprint, d.expert(), Duration.ofSeconds(2)).get(3, TimeUnit.SECONDS);
            } catch (Exception error) {
                LOG.debug("unloading expert {} on {} on closing: {}", d.expert(), d.node(), error.toString());
            }
        }
    }
}
