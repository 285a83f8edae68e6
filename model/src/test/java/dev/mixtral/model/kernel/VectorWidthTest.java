package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The width picked from the JIT's widest vectors or forced, and each type's width as reported. */
class VectorWidthTest {
    @Test
    void defaultFollowsTheJitsWidestVectorsUpTo256() {
        assertThat(VectorWidth.choose(null, 64)).isEqualTo(128);
        assertThat(VectorWidth.choose(null, 128)).isEqualTo(128);
        assertThat(VectorWidth.choose("", 256)).isEqualTo(256);
        assertThat(VectorWidth.choose(null, 512)).isEqualTo(256);
        assertThat(VectorWidth.choose("widest", 512)).isEqualTo(512);
        assertThat(VectorWidth.choose("widest", 256)).isEqualTo(256);
        assertThat(VectorWidth.choose("widest", 128)).isEqualTo(128);
    }

    @Test
    void aForcedWidthWinsAndOthersAreRejectedByName() {
        assertThat(VectorWidth.choose("128", 512)).isEqualTo(128);
        assertThat(VectorWidth.choose(" 256 ", 512)).isEqualTo(256);
        assertThat(VectorWidth.choose("512", 256)).as("allowed, though it runs as scalar code").isEqualTo(512);
        assertThatThrownBy(() -> VectorWidth.choose("1024", 512)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-D" + VectorWidth.PROPERTY + "=1024").hasMessageContaining("128, 256 or 512 bits");
    }

    @Test
    void everyTypeIsListedOnceAtItsKernelsWidth() {
        String widths = RowKernel.widthsByType();
        for (GgmlType t : GgmlType.values()) {
            assertThat(widths.split("[ ;:]+")).as(widths).containsOnlyOnce(t.name());
            int bits = RowKernel.of(t).vectorBits();
            assertThat(bits).isIn(128, 256, 512).isLessThanOrEqualTo(VectorWidth.BITS);
            assertThat(widths).contains(bits + " bits:");
        }
        assertThat(RowKernel.of(GgmlType.Q8_0).vectorBits()).as("Q8_0 has the row-pair form").isEqualTo(VectorWidth.BITS);
    }
}
