package dev.mixtral.coordinator;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ExpertLoadTest {
    @Test
    void balancednessIsMeanOverMaxTokensPerServingNode() {
        assertThat(ExpertLoad.balancedness(List.of("a", "b"), Map.of("a", 10L, "b", 10L))).isEqualTo(1.0);
        assertThat(ExpertLoad.balancedness(List.of("a", "b"), Map.of("a", 30L, "b", 10L))).isCloseTo(20.0 / 30, within(1e-12));
        // a serving node that computed nothing pulls the mean down; one no longer serving is not counted
        assertThat(ExpertLoad.balancedness(List.of("a", "b"), Map.of("a", 10L, "gone", 99L))).isEqualTo(0.5);
        assertThat(ExpertLoad.balancedness(List.of("a", "b"), Map.of())).isEqualTo(1.0);
    }

    @Test
    void countsPerNodeAndPerExpertOnlyWithinTheWindow() {
        ExpertLoad load = new ExpertLoad(2, 4);
        long now = System.currentTimeMillis() / 1000;
        load.record("b", 1, 2, 100, now - ExpertLoad.WINDOW_SECONDS); // just outside: its slot is reused now
        load.record("b", 1, 3, 4, now - 1);
        load.record("a", 1, 3, 5, now);
        load.record("a", 0, 0, 2, now);
        assertThat(load.perNode(now)).containsExactlyInAnyOrderEntriesOf(Map.of("a", 7L, "b", 4L));
        long[][] e = load.perExpert();
        assertThat(e[1][3]).isEqualTo(9);
        assertThat(e[0][0]).isEqualTo(2);
        assertThat(e[1][2]).isZero();
    }
}
