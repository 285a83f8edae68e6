package dev.mixtral.cluster;

import org.apache.pekko.cluster.Member;
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
public final class CoordinatorMembers implements MemberEvents.Listener {
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
    @Override
    public void up(Member m) {
        if (!m.hasRole(ClusterContract.COORDINATOR_ROLE)) return;
        if (up.put(id(m), address(m)) == null) {
            LOG.info("{}: coordinator {} is up; coordinators now {}", observer, address(m), addresses());
        }
    }

    /** {@code m} is unreachable, leaving, downed or removed; ignored unless it is a coordinator. */
    @Override
    public void gone(Member m, String why) {
        if (!m.hasRole(ClusterContract.COORDINATOR_ROLE)) return;
        if (up.remove(id(m)) != null) {
            LOG.info("{}: coordinator {} {}; coordinators now {}", observer, address(m), why, addresses());
        }
    }

    private static String id(Member m) {
        return m.uniqueAddress().address() + "#" + m.uniqueAddress().longUid();
    }

    private static String address(Member m) {
        return m.address().host().get() + ":" + m.address().port().get();
    }
}
