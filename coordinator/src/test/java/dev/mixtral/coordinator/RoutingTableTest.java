package dev.mixtral.coordinator;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

class RoutingTableTest {
    static RemoteNode node(String id, String address, Integer... experts) {
        return new RemoteNode(id, address, "test", new TreeSet<>(List.of(experts)), null);
    }

    @Test
    void coverageAndMissingExperts() {
        RoutingTable t = RoutingTable.empty(8);
        assertThat(t.missing()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        t = t.with(node("a", "h:2", 0, 1, 2, 3));
        assertThat(t.missing()).containsExactly(4, 5, 6, 7);
        assertThat(t.complete()).isFalse();
        assertThat(t.summary()).contains("experts [4, 5, 6, 7] of 8 NOT covered by 1 node");
        t = t.with(node("b", "h:1", 4, 5, 6, 7));
        assertThat(t.complete()).isTrue();
        assertThat(t.summary()).startsWith("all 8 experts covered by 2 nodes");
        assertThat(t.without("a").missing()).containsExactly(0, 1, 2, 3);
    }

    @Test
    void choiceIsDeterministicAndSpreadsOverReplicas() {
        RemoteNode a = node("a", "h:1", 0, 1, 2, 3), b = node("b", "h:2", 0, 1, 2, 3), c = node("c", "h:3", 4, 5, 6, 7);
        RoutingTable t1 = RoutingTable.empty(8).with(a).with(b).with(c);
        RoutingTable t2 = RoutingTable.empty(8).with(c).with(b).with(a);
        for (int e = 0; e < 8; e++) assertThat(t1.choose(e)).isEqualTo(t2.choose(e)); // order of joining does not matter
        assertThat(t1.holders(2)).containsExactly(a, b);
        assertThat(Set.of(t1.choose(0), t1.choose(1))).containsExactlyInAnyOrder(a, b); // replicas share the load
        // a replica gone: its experts move to the other one
        assertThat(t1.without("a").choose(0)).isEqualTo(b);
        assertThat(t1.without("a").without("b").choose(0)).isNull();
    }

    @Test
    void holdersTakeTurnsByLayerSoAnExtraReplicaTakesAShareAtOnce() {
        RemoteNode a = node("a", "h:1", 0, 1, 2, 3), b = node("b", "h:2", 4, 5, 6, 7);
        RoutingTable t = RoutingTable.empty(8).with(a).with(b);
        for (int layer = 0; layer < 4; layer++) assertThat(t.choose(layer, 0)).isEqualTo(a);
        RoutingTable replicated = t.withExtra("b", 0);
        assertThat(replicated.node("b").extras()).containsExactly(0);
        assertThat(replicated.node("b").placement()).containsExactly(4, 5, 6, 7);
        assertThat(replicated.summary()).contains("h:2 holds [4, 5, 6, 7] + extra [0]");
        // expert 0 alternates between its holders, layer by layer, the same on every call
        assertThat(List.of(replicated.choose(0, 0).id(), replicated.choose(1, 0).id(), replicated.choose(2, 0).id(), replicated.choose(3, 0).id()))
                .containsExactly("a", "b", "a", "b");
        // failover: without b the extra's share goes back to a; dropping the extra restores the table
        assertThat(replicated.without("b").choose(1, 0).id()).isEqualTo("a");
        assertThat(replicated.withoutExtra("b", 0)).isEqualTo(t);
        assertThat(t.withoutExtra("a", 0)).isEqualTo(t); // a placement expert is not an extra: unchanged
    }

    @Test
    void aRejoiningNodeReplacesItsOldEntry() {
        RoutingTable t = RoutingTable.empty(8).with(node("a", "h:1", 0, 1)).with(node("a", "h:1", 0, 1, 2));
        assertThat(t.nodes()).hasSize(1);
        assertThat(t.holders(2)).hasSize(1);
    }
}
