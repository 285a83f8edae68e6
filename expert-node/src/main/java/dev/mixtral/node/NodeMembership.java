package dev.mixtral.node;

import dev.mixtral.cluster.ClusterContract;
import dev.mixtral.cluster.ClusterIncarnations;
import dev.mixtral.cluster.ClusterJoin;
import dev.mixtral.cluster.CoordinatorMembers;
import dev.mixtral.cluster.MemberEvents;
import dev.mixtral.cluster.SeedRule;
import dev.mixtral.cluster.tls.ClusterTls;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

import java.util.List;

/**
 * This node's membership of the Pekko cluster. It advertises itself through its roles only
 * ({@code expert-node}, {@code grpc=HOST:PORT}, {@code experts=0-3}, {@code fingerprint=…}, see
 * {@code mixtral/v1/cluster.conf}); its only actor logs the coordinators coming and going
 * ({@link CoordinatorMembers}): membership and the failure detector are all it needs. It keeps nothing per
 * coordinator, so any number of coordinators may use it at once.
 */
final class NodeMembership implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NodeMembership.class);
    private final ClusterIncarnations<ClusterEvent.ClusterDomainEvent> system;

    private NodeMembership(ClusterIncarnations<ClusterEvent.ClusterDomainEvent> system) {
        this.system = system;
    }

    /**
     * Joins the cluster as {@code join} says (seeds: {@code host:port} of running members, empty: this node
     * starts a new cluster; or cluster bootstrap), listening for cluster traffic on {@code host:clusterPort}.
     * With seeds, whether it may found a cluster follows {@link SeedRule}; if the cluster ever removes it, it
     * rejoins the same way ({@link ClusterIncarnations}).
     */
    static NodeMembership join(String host, int clusterPort, ClusterJoin join, String grpcAddress,
                               String experts, String fingerprint, ClusterTls tls) {
        CoordinatorMembers coordinators = new CoordinatorMembers("expert node " + grpcAddress);
        return new NodeMembership(new ClusterIncarnations<>("expert node " + grpcAddress, clusterPort, port -> {
            var system = join.start(MemberEvents.listener(List.of(coordinators)), host, port, List.of(
                    ClusterContract.NODE_ROLE,
                    ClusterContract.GRPC_ROLE_PREFIX + grpcAddress,
                    ClusterContract.EXPERTS_ROLE_PREFIX + experts,
                    ClusterContract.FINGERPRINT_ROLE_PREFIX + fingerprint), tls);
            if (join instanceof ClusterJoin.Seeds s && s.seeds().isEmpty()) {
                Cluster cluster = Cluster.get(system);
                cluster.manager().tell(Join.create(cluster.selfMember().address()));
            }
            var classic = org.apache.pekko.cluster.Cluster.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system));
            classic.registerOnMemberUp(() -> LOG.info("member of the cluster as {}: members {}", classic.selfAddress(),
                    classic.state().members().mkString(", ")));
            return system;
        }));
    }

    /** This node's cluster address, {@code host:port}: what other members give as a seed. */
    String address() {
        return ClusterContract.address(system.current());
    }

    /** Leaves the cluster (so coordinators stop routing here at once) and stops. */
    @Override
    public void close() {
        system.close();
    }
}
