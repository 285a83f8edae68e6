package dev.mixtral.cluster;

import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

import java.util.List;

/**
 * What membership and reachability events mean to a member that only needs to know who is usable: a
 * member up, weakly up or reachable again is usable; one unreachable, leaving, downed or removed is gone.
 * One reading for coordinators and expert nodes alike.
 */
public final class MemberEvents {
    /** The reason given for a member that left on its own (drained): not a failure. */
    public static final String LEAVING = "is leaving";

    /** Told of each member that becomes usable or stops being so. */
    public interface Listener {
        void up(Member m);

        void gone(Member m, String why);
    }

    private MemberEvents() {}

    /**
     * A guardian that subscribes to membership and reachability and tells every listener. A new
     * incarnation subscribes again and hears every member that is up.
     */
    public static Behavior<ClusterEvent.ClusterDomainEvent> listener(List<Listener> listeners) {
        return Behaviors.setup(ctx -> {
            var subscriptions = Cluster.get(ctx.getSystem()).subscriptions();
            subscriptions.tell(Subscribe.create(ctx.getSelf().<ClusterEvent.MemberEvent>narrow(), ClusterEvent.MemberEvent.class));
            subscriptions.tell(Subscribe.create(ctx.getSelf().<ClusterEvent.ReachabilityEvent>narrow(), ClusterEvent.ReachabilityEvent.class));
            return Behaviors.receive(ClusterEvent.ClusterDomainEvent.class)
                    .onAnyMessage(e -> {
                        for (Listener l : listeners) dispatch(e, l);
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    /** Tells {@code l} what {@code e} means, if anything. */
    public static void dispatch(ClusterEvent.ClusterDomainEvent e, Listener l) {
        switch (e) {
            case ClusterEvent.MemberUp u -> l.up(u.member());
            case ClusterEvent.MemberWeaklyUp u -> l.up(u.member());
            case ClusterEvent.ReachableMember r -> {
                MemberStatus s = r.member().status();
                if (s == MemberStatus.up() || s == MemberStatus.weaklyUp()) l.up(r.member());
            }
            case ClusterEvent.UnreachableMember u -> l.gone(u.member(), "is unreachable");
            case ClusterEvent.MemberLeft x -> l.gone(x.member(), LEAVING);
            case ClusterEvent.MemberExited x -> l.gone(x.member(), LEAVING);
            case ClusterEvent.MemberDowned d -> l.gone(d.member(), "was downed");
            case ClusterEvent.MemberRemoved r -> l.gone(r.member(), "was removed");
            default -> {
            }
        }
    }
}
