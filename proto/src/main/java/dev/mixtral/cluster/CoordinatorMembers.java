package dev.mixtral.cluster;

import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The coordinators in the cluster, as membership reports them (members with the {@code coordinator}
 * role), each logged as it comes and goes. Any number of coordinators may serve one node pool: nodes
 * keep nothing per coordinator (every call carries its whole input), so a coordinator that dies takes
 * only its own calls in flight with it; this is what makes that visible, in the nodes' logs and on the
 * coordinators' cluster page.
 */
public final class CoordinatorMembers {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatorMembers.class);
    private final String observer;
    /** member id (address#uid: one per incarnation) → cluster address, host:port */
    private final Map<String, String> up = new ConcurrentSkipListMap<>();

    /** @param observer names the process that watches, in its log lines */
    public CoordinatorMembers(String observer) {
        this.observer = observer;
    }

    /** Cluster addresses ({@code host:port}) of the coordinators that are up and reachable, sorted. */
    public List<String> addresses() {
        return up.values().stream().sorted().toList();
    }

    /** {@code m} is up or reachable again; ignored unless it is a coordinator. */
    public void up(Member m) {
        if (!m.hasRole(ClusterContract.COORDINATOR_ROLE)) return;
        if (up.put(id(m), address(m)) == null) {
            LOG.info("{}: coordinator {} is up; coordinators now {}", observer, address(m), addresses());
        }
    }

    /** {@code m} is unreachable, leaving, downed or removed; ignored unless it is a coordinator. */
    public void gone(Member m, String why) {
        if (!m.hasRole(ClusterContract.COORDINATOR_ROLE)) return;
        if (up.remove(id(m)) != null) {
            LOG.info("{}: coordinator {} {}; its calls in flight end with its connections, nothing is kept for it here;"
                    + " coordinators now {}", observer, address(m), why, addresses());
        }
    }

    /**
     * A guardian for a member that has no other actors: subscribes to membership and reachability and
     * feeds the coordinators among them to {@code members}. A new incarnation subscribes again and hears
     * every member that is up.
     */
    public static Behavior<ClusterEvent.ClusterDomainEvent> watcher(CoordinatorMembers members) {
        return Behaviors.setup(ctx -> {
            var subscriptions = Cluster.get(ctx.getSystem()).subscriptions();
            subscriptions.tell(Subscribe.create(ctx.getSelf().<ClusterEvent.MemberEvent>narrow(), ClusterEvent.MemberEvent.class));
            subscriptions.tell(Subscribe.create(ctx.getSelf().<ClusterEvent.ReachabilityEvent>narrow(), ClusterEvent.ReachabilityEvent.class));
            return Behaviors.receive(ClusterEvent.ClusterDomainEvent.class)
                    .onAnyMessage(e -> {
                        members.on(e);
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    /** Applies one membership or reachability event. */
    public void on(ClusterEvent.ClusterDomainEvent e) {
        switch (e) {
            case ClusterEvent.MemberUp u -> up(u.member());
            case ClusterEvent.MemberWeaklyUp u -> up(u.member());
            case ClusterEvent.ReachableMember r -> {
                MemberStatus s = r.member().status();
                if (s == MemberStatus.up() || s == MemberStatus.weaklyUp()) up(r.member());
            }
            case ClusterEvent.UnreachableMember u -> gone(u.member(), "is unreachable (crashed or cut off)");
            case ClusterEvent.MemberLeft l -> gone(l.member(), "is leaving");
            case ClusterEvent.MemberExited x -> gone(x.member(), "is leaving");
            case ClusterEvent.MemberDowned d -> gone(d.member(), "was downed");
            case ClusterEvent.MemberRemoved r -> gone(r.member(), "was removed");
            default -> {
            }
        }
    }

    private static String id(Member m) {
        return m.uniqueAddress().address() + "#" + m.uniqueAddress().longUid();
    }

    private static String address(Member m) {
        return m.address().host().get() + ":" + m.address().port().get();
    }
}
