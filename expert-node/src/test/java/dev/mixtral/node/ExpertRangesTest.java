package dev.mixtral.node;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ExpertRangesTest {
    @Test
    void parsesRangesAndLists() {
        assertThat(ExpertRanges.parse("0-3")).containsExactly(0, 1, 2, 3);
        assertThat(ExpertRanges.parse("5, 0,2-3")).containsExactly(0, 2, 3, 5);
        assertThat(ExpertRanges.parse("7")).containsExactly(7);
    }

    @Test
    void formatsShortest() {
        assertThat(ExpertRanges.format(List.of(6, 0, 1, 2, 3))).isEqualTo("0-3,6");
        assertThat(ExpertRanges.format(List.of(1, 3, 5))).isEqualTo("1,3,5");
        assertThat(ExpertRanges.format(List.of())).isEmpty();
    }

    @Test
    void rejectsNonsense() {
        for (String bad : new String[]{"", "a", "3-1", "-1", "1-", "0-3,,4"}) {
            assertThatThrownBy(() -> ExpertRanges.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
