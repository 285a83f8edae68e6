package dev.mixtral.coordinator;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's membership of the Pekko cluster: joins at the seeds with the role
 * {@code coordinator} and feeds expert-node arrivals and departures (left, downed, removed,
 * unreachable) to the {@link NodeRegistry}. Roles carry what a node advertises (see
 * {@code mixtral/v1/cluster.conf}); no application message crosses the cluster.
 */
final class ClusterMembership implements AutoCloseable {
    private static final Config CONTRACT = ConfigFactory.parseResources("mixtral/v1/cluster.conf");

    private final ActorSystem<ClusterEvent.ClusterDomainEvent> system;

    private ClusterMembership(ActorSystem<ClusterEvent.ClusterDomainEvent> system) {
        this.system = system;
    }

    static ClusterMembership join(String host, int port, List<String> seeds, NodeRegistry registry) {
        if (seeds.isEmpty()) throw new IllegalArgumentException("no seed nodes given: a coordinator joins an existing cluster");
        Config contract = CONTRACT.getConfig("mixtral.cluster");
        String name = contract.getString("system-name");
        List<String> seedAddresses = new ArrayList<>();
        for (String s : seeds) seedAddresses.add("pekko://" + name + "@" + s.strip());
        Config config = ConfigFactory.parseMap(Map.of(
                        "pekko.remote.artery.canonical.hostname", host,
                        "pekko.remote.artery.canonical.port", port,
                        "pekko.cluster.seed-nodes", seedAddresses,
                        "pekko.cluster.roles", List.of(contract.getString("coordinator-role"))))
                .withFallback(CONTRACT)
                .withFallback(ConfigFactory.load());
        return new ClusterMembership(ActorSystem.create(listener(registry, contract), name, config));
    }

    /** This member's cluster address, {@code host:port}. */
    String address() {
        Address a = Cluster.get(system).selfMember().address();
        return a.host().get() + ":" + a.port().get();
    }

    /** Whether this member has joined (the seeds answered). */
    boolean joined() {
        MemberStatus s = Cluster.get(system).selfMember().status();
        return s == MemberStatus.up() || s == MemberStatus.weaklyUp();
    }

    private static Behavior<ClusterEvent.ClusterDomainEvent> listener(NodeRegistry registry, Config contract) {
        return Behaviors.setup(ctx -> {
            var subscriptions = Cluster.get(ctx.getSystem()).subscriptions();
            subscriptions.tell(Subscribe.create(ctx.getSelf().<ClusterEvent.MemberEvent>narrow(), ClusterEvent.MemberEvent.class));
            subscriptions.tell(Subscribe.create(ctx.getSelf().<ClusterEvent.ReachabilityEvent>narrow(), ClusterEvent.ReachabilityEvent.class));
            Roles roles = new Roles(contract);
            return Behaviors.receive(ClusterEvent.ClusterDomainEvent.class)
                    .onMessage(ClusterEvent.MemberUp.class, e -> up(registry, roles, e.member()))
                    .onMessage(ClusterEvent.MemberWeaklyUp.class, e -> up(registry, roles, e.member()))
                    .onMessage(ClusterEvent.ReachableMember.class, e -> {
                        MemberStatus s = e.member().status();
                        return s == MemberStatus.up() || s == MemberStatus.weaklyUp() ? up(registry, roles, e.member()) : Behaviors.same();
                    })
                    .onMessage(ClusterEvent.UnreachableMember.class, e -> gone(registry, roles, e.member(), "is unreachable"))
                    .onMessage(ClusterEvent.MemberLeft.class, e -> gone(registry, roles, e.member(), "is leaving"))
                    .onMessage(ClusterEvent.MemberExited.class, e -> gone(registry, roles, e.member(), "is leaving"))
                    .onMessage(ClusterEvent.MemberDowned.class, e -> gone(registry, roles, e.member(), "was downed"))
                    .onMessage(ClusterEvent.MemberRemoved.class, e -> gone(registry, roles, e.member(), "was removed"))
                    .onAnyMessage(e -> Behaviors.same())
                    .build();
        });
    }

    private static Behavior<ClusterEvent.ClusterDomainEvent> up(NodeRegistry registry, Roles roles, Member m) {
        String grpc = roles.value(m, roles.grpc);
        if (m.hasRole(roles.node) && grpc != null) {
            registry.nodeUp(new NodeRegistry.Member(id(m), grpc, roles.value(m, roles.fingerprint), roles.value(m, roles.experts)));
        }
        return Behaviors.same();
    }

    private static Behavior<ClusterEvent.ClusterDomainEvent> gone(NodeRegistry registry, Roles roles, Member m, String why) {
        if (m.hasRole(roles.node)) registry.nodeGone(id(m), why);
        return Behaviors.same();
    }

    /** Unique per incarnation: a node restarted on the same address is a new member. */
    private static String id(Member m) {
        return m.uniqueAddress().address() + "#" + m.uniqueAddress().longUid();
    }

    /** The role names and prefixes of the contract. */
    private static final class Roles {
        final String node, grpc, experts, fingerprint;

        Roles(Config c) {
            node = c.getString("node-role");
            grpc = c.getString("grpc-role-prefix");
            experts = c.getString("experts-role-prefix");
            fingerprint = c.getString("fingerprint-role-prefix");
        }

        String value(Member m, String prefix) {
            for (String r : m.getRoles()) if (r.startsWith(prefix)) return r.substring(prefix.length());
            return null;
        }
    }

    /** Leaves the cluster and stops. */
    @Override
    public void close() {
        system.terminate();
        try {
            system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // leaving anyway: the failure detector tells the others
        }
    }
}
