package dev.mixtral.cluster;

import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrapSettings;
import org.apache.pekko.management.cluster.bootstrap.JoinDecision;
import org.apache.pekko.management.cluster.bootstrap.JoinOtherSeedNodes;
import org.apache.pekko.management.cluster.bootstrap.JoinSelf;
import org.apache.pekko.management.cluster.bootstrap.LowestAddressJoinDecider;
import org.apache.pekko.management.cluster.bootstrap.SeedNodesInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;

import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Pekko's own bootstrap rule ({@link LowestAddressJoinDecider}: join any cluster a contact point reports; else
 * the lowest contact point founds one once enough answered and discovery was stable), unchanged, with its
 * decision logged once: whether this member founded the cluster or joined one, and through which members.
 * Named in the bootstrap's settings ({@link BootstrapStart}), Pekko creates one per member incarnation.
 */
public final class LoggedJoinDecider extends LowestAddressJoinDecider {
    private static final Logger LOG = LoggerFactory.getLogger(LoggedJoinDecider.class);
    private final AtomicBoolean logged = new AtomicBoolean();

    public LoggedJoinDecider(ActorSystem system, ClusterBootstrapSettings settings) {
        super(system, settings);
    }

    @Override
    public Future<JoinDecision> decide(SeedNodesInformation info) {
        Future<JoinDecision> decision = super.decide(info);
        FutureConverters.asJava(decision).thenAccept(d -> {
            if (d == JoinSelf.getInstance() && logged.compareAndSet(false, true)) {
                LOG.info("cluster bootstrap: none of the contact points {} is in a cluster and this member's is the lowest: founding the cluster",
                        contactPoints(info));
            } else if (d instanceof JoinOtherSeedNodes join && logged.compareAndSet(false, true)) {
                LOG.info("cluster bootstrap: joining the cluster through {} (reported by the contact points {})",
                        join.seedNodes().mkString("[", ", ", "]"), contactPoints(info));
            }
        });
        return decision;
    }

    private static TreeSet<String> contactPoints(SeedNodesInformation info) {
        TreeSet<String> out = new TreeSet<>();
        for (var t : info.getContactPoints()) out.add(t.host() + ":" + (t.port().isDefined() ? t.port().get() : "?"));
        return out;
    }
}
