package dev.mixtral.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * This node's membership of the Pekko cluster. It advertises itself through its roles only
 * ({@code expert-node}, {@code grpc=HOST:PORT}, {@code experts=0-3}, {@code fingerprint=…}, see
 * {@code mixtral/v1/cluster.conf}); it has no actors: membership and the failure detector are all it needs.
 */
final class NodeMembership implements AutoCloseable {
    private static final Config CONTRACT = ConfigFactory.parseResources("mixtral/v1/cluster.conf");

    private final ActorSystem<Void> system;

    private NodeMembership(ActorSystem<Void> system) {
        this.system = system;
    }

    /**
     * Joins the cluster at {@code seeds} ({@code host:port} of running members; empty: this node starts
     * a new cluster), listening for cluster traffic on {@code host:clusterPort}.
     */
    static NodeMembership join(String host, int clusterPort, List<String> seeds, String grpcAddress,
                               String experts, String fingerprint) {
        Config contract = CONTRACT.getConfig("mixtral.cluster");
        String name = contract.getString("system-name");
        List<String> seedAddresses = new ArrayList<>();
        for (String s : seeds) seedAddresses.add("pekko://" + name + "@" + s.strip());
        Config config = ConfigFactory.parseMap(Map.of(
                        "pekko.remote.artery.canonical.hostname", host,
                        "pekko.remote.artery.canonical.port", clusterPort,
                        "pekko.cluster.seed-nodes", seedAddresses,
                        "pekko.cluster.roles", List.of(contract.getString("node-role"),
                                contract.getString("grpc-role-prefix") + grpcAddress,
                                contract.getString("experts-role-prefix") + experts,
                                contract.getString("fingerprint-role-prefix") + fingerprint)))
                .withFallback(CONTRACT)
                .withFallback(ConfigFactory.load());
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), name, config);
        if (seeds.isEmpty()) {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        return new NodeMembership(system);
    }

    /** This node's cluster address, {@code host:port}: what other members give as a seed. */
    String address() {
        Address a = Cluster.get(system).selfMember().address();
        return a.host().get() + ":" + a.port().get();
    }

    /** Leaves the cluster (so coordinators stop routing here at once) and stops. */
    @Override
    public void close() {
        system.terminate();
        try {
            system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            // exiting anyway: the failure detector tells the others
        }
    }

}
