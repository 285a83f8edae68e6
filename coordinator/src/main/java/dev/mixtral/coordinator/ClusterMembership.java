package dev.mixtral.coordinator;

import dev.mixtral.cluster.ClusterContract;
import dev.mixtral.cluster.ClusterIncarnations;
import dev.mixtral.cluster.ClusterJoin;
import dev.mixtral.cluster.CoordinatorMembers;
import dev.mixtral.cluster.MemberEvents;
import dev.mixtral.cluster.tls.ClusterTls;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

import java.util.List;

/**
 * The coordinator's membership of the Pekko cluster: joins at the seeds with the role
 * {@code coordinator} and feeds expert-node arrivals and departures (left, downed, removed,
 * unreachable) to the {@link NodeRegistry}, and keeps the other coordinators ({@link CoordinatorMembers}: several
 * may serve one node pool; they share nothing but the nodes). Roles carry what a node advertises (see
 * {@code mixtral/v1/cluster.conf}); no application message crosses the cluster.
 */
final class ClusterMembership implements AutoCloseable {
    private final ClusterIncarnations<ClusterEvent.ClusterDomainEvent> system;
    private final CoordinatorMembers coordinators;

    private ClusterMembership(ClusterIncarnations<ClusterEvent.ClusterDomainEvent> system, CoordinatorMembers coordinators) {
        this.system = system;
        this.coordinators = coordinators;
    }

    /**
     * Joins as {@code join} says: at seeds (never founding a cluster: there must be some), or by cluster bootstrap,
     * where the coordinator is one contact point among the nodes' (it founds the cluster if its is the lowest).
     */
    static ClusterMembership join(String host, int port, ClusterJoin join, NodeRegistry registry, ClusterTls tls) {
        if (join instanceof ClusterJoin.Seeds s && s.seeds().isEmpty()) {
            throw new IllegalArgumentException("no seed nodes given: a coordinator joins an existing cluster");
        }
        // a new incarnation (after this coordinator was downed) subscribes again and hears every member up
        CoordinatorMembers coordinators = new CoordinatorMembers("coordinator");
        return new ClusterMembership(new ClusterIncarnations<>("coordinator", port, p -> join.start(listener(registry, coordinators),
                host, p, List.of(ClusterContract.COORDINATOR_ROLE), tls)), coordinators);
    }

    /** Cluster addresses of the coordinators up in the cluster, this one included once it is up: all serve the same nodes. */
    List<String> coordinators() {
        return coordinators.addresses();
    }

    /** This member's cluster address, {@code host:port}. */
    String address() {
        return ClusterContract.address(system.current());
    }

    /** Whether this member has joined (the seeds or the bootstrap's contact points answered). */
    boolean joined() {
        MemberStatus s = Cluster.get(system.current()).selfMember().status();
        return s == MemberStatus.up() || s == MemberStatus.weaklyUp();
    }

    private static Behavior<ClusterEvent.ClusterDomainEvent> listener(NodeRegistry registry, CoordinatorMembers coordinators) {
        return MemberEvents.listener(List.of(coordinators, new MemberEvents.Listener() {
            @Override
            public void up(Member m) {
                String grpc = ClusterContract.roleValue(m, ClusterContract.GRPC_ROLE_PREFIX);
                if (m.hasRole(ClusterContract.NODE_ROLE) && grpc != null) {
                    registry.nodeUp(new NodeRegistry.Member(id(m), grpc, ClusterContract.roleValue(m, ClusterContract.FINGERPRINT_ROLE_PREFIX),
                            ClusterContract.roleValue(m, ClusterContract.EXPERTS_ROLE_PREFIX)));
                }
            }

            @Override
            public void gone(Member m, String why) {
                if (m.hasRole(ClusterContract.NODE_ROLE)) registry.nodeGone(id(m), why);
            }
        }));
    }

    /** Unique per incarnation: a node restarted on the same address is a new member. */
    private static String id(Member m) {
        return m.uniqueAddress().address() + "#" + m.uniqueAddress().longUid();
    }

    /** Leaves the cluster and stops. */
    @Override
    public void close() {
        system.close();
    }
}
