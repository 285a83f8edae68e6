package dev.mixtral.node;

import dev.mixtral.cluster.ClusterContract;
import dev.mixtral.cluster.tls.ClusterTls;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

import java.util.List;

/**
 * This node's membership of the Pekko cluster. It advertises itself through its roles only
 * ({@code expert-node}, {@code grpc=HOST:PORT}, {@code experts=0-3}, {@code fingerprint=…}, see
 * {@code mixtral/v1/cluster.conf}); it has no actors: membership and the failure detector are all it needs.
 */
final class NodeMembership implements AutoCloseable {
    private final ActorSystem<Void> system;

    private NodeMembership(ActorSystem<Void> system) {
        this.system = system;
    }

    /**
     * Joins the cluster at {@code seeds} ({@code host:port} of running members; empty: this node starts
     * a new cluster), listening for cluster traffic on {@code host:clusterPort}.
     */
    static NodeMembership join(String host, int clusterPort, List<String> seeds, String grpcAddress,
                               String experts, String fingerprint, ClusterTls tls) {
        ActorSystem<Void> system = ClusterContract.start(Behaviors.empty(), host, clusterPort, seeds, List.of(
                ClusterContract.NODE_ROLE,
                ClusterContract.GRPC_ROLE_PREFIX + grpcAddress,
                ClusterContract.EXPERTS_ROLE_PREFIX + experts,
                ClusterContract.FINGERPRINT_ROLE_PREFIX + fingerprint), tls);
        if (seeds.isEmpty()) {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        return new NodeMembership(system);
    }

    /** This node's cluster address, {@code host:port}: what other members give as a seed. */
    String address() {
        return ClusterContract.address(system);
    }

    /** Leaves the cluster (so coordinators stop routing here at once) and stops. */
    @Override
    public void close() {
        ClusterContract.leave(system);
    }
}
