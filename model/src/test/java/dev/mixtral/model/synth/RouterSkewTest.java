package dev.mixtral.model.synth;

import dev.mixtral.model.weights.HuggingFaceTensorNames;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Hot experts in a synthetic model: exactly their router rows are scaled, the same element by element and row by row. */
class RouterSkewTest {
    @Test
    void scalesExactlyTheHotExpertsRouterRowsOfEveryLayer() {
        SynthSpec spec = SynthSpec.preset("tiny");
        SynthWeights plain = new SynthWeights(spec, 3);
        SynthWeights hot = new SynthWeights(spec, 3, new RouterSkew(new TreeSet<>(Set.of(0, 6)), 8));
        HuggingFaceTensorNames hf = HuggingFaceTensorNames.NAMES;
        for (int l = 0; l < spec.layers(); l++) {
            SynthWeights.Logical router = hot.tensor(hf.router(l));
            for (int e = 0; e < spec.experts(); e++) {
                float[] a = new float[spec.dim()], b = new float[spec.dim()];
                plain.row(plain.tensor(hf.router(l)), e, a, 0);
                hot.row(router, e, b, 0);
                float factor = e == 0 || e == 6 ? 8 : 1;
                for (int c = 0; c < spec.dim(); c++) {
                    assertThat(b[c]).isEqualTo(a[c] * factor);
                    assertThat(hot.value(hf.router(l), e, c)).isEqualTo(b[c]);
                }
            }
        }
        // nothing else changes
        float[] a = new float[spec.dim()], b = new float[spec.dim()];
        plain.row(plain.tensor(hf.embedding()), 0, a, 0);
        hot.row(hot.tensor(hf.embedding()), 0, b, 0);
        assertThat(b).containsExactly(a);
    }

    @Test
    void refusesScalesThatAreNotExactAndExpertsThatDoNotExist() {
        assertThatThrownBy(() -> new RouterSkew(new TreeSet<>(Set.of(0)), 3)).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new SynthWeights(SynthSpec.preset("tiny"), 1, new RouterSkew(new TreeSet<>(Set.of(8)), 4)))
                .hasMessageContaining("hot expert 8 does not exist");
    }
}
