package dev.mixtral.cli;

import org.junit.jupiter.api.Test;

import java.util.SortedSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** An expert node told its place holds what {@code cluster --replicas} would give that node. */
class PlacementTest {
    @Test
    void eachIndexGetsItsShareOfTheClusterRule() {
        for (int[] shape : new int[][]{{8, 2, 1}, {8, 4, 2}, {8, 8, 2}, {8, 3, 3}, {8, 16, 2}}) {
            int experts = shape[0], nodes = shape[1], replicas = shape[2];
            var shares = LocalCluster.split(experts, nodes, replicas);
            for (int i = 0; i < nodes; i++) {
                SortedSet<Integer> mine = Placement.parse(i + "/" + nodes + "/" + replicas).experts(experts);
                assertThat(mine).as("node %d of %d × %d", i, nodes, replicas).isEqualTo(shares.get(i));
            }
        }
        assertThat(Placement.parse(" 3 / 8 / 2 ").experts(8)).containsExactly(2, 3);
    }

    @Test
    void badPlacementsSayWhatIsExpected() {
        assertThatThrownBy(() -> Placement.parse("3/8")).hasMessage("--placement must be INDEX/NODES/REPLICAS (e.g. 3/8/2), got '3/8'");
        assertThatThrownBy(() -> Placement.parse("x/8/2")).hasMessageContaining("INDEX/NODES/REPLICAS");
        assertThatThrownBy(() -> Placement.parse("8/8/2")).hasMessage("node index must be 0..7, got 8");
        assertThatThrownBy(() -> Placement.parse("0/2/3")).hasMessageContaining("replicas must be between 1 and the number of nodes (2)");
        assertThatThrownBy(() -> Placement.parse("0/0/1")).hasMessageContaining("node count must be >= 1");
    }

    @Test
    void theExpertNodeCommandRefusesBothOrNeither() {
        CliTest.Result r = CliTest.run("expert-node", "--model", ClusterSupport.Q8.toString(), "--experts", "0-3", "--placement", "0/2/1");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral expert-node: give --experts or --placement, not both");
        r = CliTest.run("expert-node", "--model", ClusterSupport.Q8.toString(), "--placement", "2/2/1");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral expert-node: node index must be 0..1, got 2");
    }
}
