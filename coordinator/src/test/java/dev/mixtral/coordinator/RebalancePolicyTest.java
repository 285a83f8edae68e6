package dev.mixtral.coordinator;

import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.Set;

import static dev.mixtral.coordinator.RoutingTableTest.node;
import static org.assertj.core.api.Assertions.assertThat;

/** The rebalancer's decisions on given tables and loads: what it adds, what it drops, and that it does not flap. */
class RebalancePolicyTest {
    static final RebalancePolicy POLICY = RebalancePolicy.DEFAULT;
    // two nodes, experts 0-3 on a, 4-7 on b
    static final RoutingTable TWO = RoutingTable.empty(8).with(node("a", "h:1", 0, 1, 2, 3)).with(node("b", "h:2", 4, 5, 6, 7));

    /** {@code layers} layers with the same tokens per expert in each. */
    static long[][] load(int layers, long... perExpert) {
        long[][] l = new long[layers][];
        for (int i = 0; i < layers; i++) l[i] = perExpert.clone();
        return l;
    }

    // experts 0 and 1 hot: node a computes 2.5× what b does
    static final long[][] SKEWED = load(4, 400, 400, 100, 100, 100, 100, 100, 100);

    @Test
    void replicatesTheHottestExpertOfTheMostLoadedNodeOntoTheLeastLoadedOne() {
        assertThat(RebalancePolicy.balancedness(TWO, SKEWED)).isCloseTo(0.7, org.assertj.core.data.Offset.offset(1e-9));
        RebalancePolicy.Change c = POLICY.decide(TWO, SKEWED, Set.of()).orElseThrow();
        assertThat(c.add()).isTrue();
        assertThat(c.node().id()).isEqualTo("b");
        assertThat(c.expert()).isIn(0, 1);
        assertThat(c.after()).isGreaterThan(c.before() + POLICY.minGain());
        // the prediction is what the routing table would do: b takes half of the expert's layers
        RoutingTable next = TWO.withExtra("b", c.expert());
        assertThat(RebalancePolicy.perNode(next, SKEWED)).containsEntry("h:1", 4 * 1000L - 2 * 400).containsEntry("h:2", 4 * 400L + 2 * 400);
        assertThat(next.holders(c.expert())).extracting(RemoteNode::id).containsExactly("a", "b");
        assertThat(next.node("b").extras()).containsExactly(c.expert());
    }

    @Test
    void keepsAddingUntilBalancedThenStopsAndDoesNotDropWhatTheLoadStillNeeds() {
        RoutingTable t = TWO;
        int changes = 0;
        for (Optional<RebalancePolicy.Change> c; (c = POLICY.decide(t, SKEWED, Set.of())).isPresent() && changes < 10; changes++) {
            assertThat(c.get().add()).isTrue();
            t = t.withExtra(c.get().node().id(), c.get().expert());
        }
        assertThat(changes).isBetween(1, 2);
        assertThat(RebalancePolicy.balancedness(t, SKEWED)).isGreaterThanOrEqualTo(POLICY.addBelow());
        // the same load again: nothing to do (no drop undoes an addition it called for)
        assertThat(POLICY.decide(t, SKEWED, Set.of())).isEmpty();
    }

    @Test
    void dropsReplicasOnceTheLoadNoLongerNeedsThem() {
        RoutingTable replicated = TWO.withExtra("b", 0);
        long[][] even = load(4, 100, 100, 100, 100, 100, 100, 100, 100);
        RebalancePolicy.Change c = POLICY.decide(replicated, even, Set.of()).orElseThrow();
        assertThat(c.add()).isFalse();
        assertThat(c.node().id()).isEqualTo("b");
        assertThat(c.expert()).isZero();
        assertThat(c.after()).isGreaterThanOrEqualTo(POLICY.dropAbove());
        // no traffic at all: replicas are not needed either
        assertThat(POLICY.decide(replicated, new long[4][8], Set.of())).hasValueSatisfying(d -> assertThat(d.add()).isFalse());
    }

    @Test
    void hysteresisBetweenAddingAndDropping() {
        // balancedness 0.85: between addBelow and dropAbove; neither adds to the plain table...
        long[][] mild = load(2, 200, 170, 100, 100, 100, 100, 100, 100);
        double b = RebalancePolicy.balancedness(TWO, mild);
        assertThat(b).isBetween(POLICY.addBelow(), POLICY.dropAbove());
        assertThat(POLICY.decide(TWO, mild, Set.of())).isEmpty();
        // ...nor drops a replica whose removal would leave it below dropAbove
        RoutingTable replicated = TWO.withExtra("b", 0);
        assertThat(POLICY.decide(replicated, mild, Set.of())).isEmpty();
    }

    @Test
    void respectsFullNodesTooLittleTrafficAndUselessAdditions() {
        assertThat(POLICY.decide(TWO, SKEWED, Set.of("b"))).isEmpty(); // the only target is full
        assertThat(POLICY.decide(TWO, load(1, 4, 4, 1, 1, 1, 1, 1, 1), Set.of())).isEmpty(); // 14 tokens say nothing
        RoutingTable alone = RoutingTable.empty(8).with(node("a", "h:1", 0, 1, 2, 3, 4, 5, 6, 7));
        assertThat(POLICY.decide(alone, SKEWED, Set.of())).isEmpty();
        // one expert carrying everything in one layer: a replica cannot split it (replicas take turns by layer)
        long[][] single = new long[1][8];
        single[0][0] = 1000;
        assertThat(POLICY.decide(TWO, single, Set.of())).isEmpty();
    }

    @Test
    void theDecisionIsTheSameWhateverOrderNodesJoinedIn() {
        RoutingTable three = RoutingTable.empty(8).with(node("c", "h:3", 6, 7)).with(node("a", "h:1", 0, 1, 2)).with(node("b", "h:2", 3, 4, 5));
        RoutingTable same = RoutingTable.empty(8).with(node("a", "h:1", 0, 1, 2)).with(node("b", "h:2", 3, 4, 5)).with(node("c", "h:3", 6, 7));
        assertThat(POLICY.decide(three, SKEWED, Set.of())).isEqualTo(POLICY.decide(same, SKEWED, Set.of())).isPresent();
    }
}
