package dev.mixtral.cli;

import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** A synth whose stderr is not a terminal reports its progress as log lines with bytes and a percentage. */
class SynthProgressTest {
    private static final Pattern LINE = Pattern.compile(
            "synth small\\.gguf: ([\\d.]+ (?:[KMGT]iB|B)) of ([\\d.]+ (?:[KMGT]iB|B)) \\((\\d+)%\\), [\\d.]+ (?:[KMGT]iB|B)/s, (\\S+ s|\\?) left");

    @Test
    void nonTerminalSynthPrintsByteAndPercentLines(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("small.gguf");
        CliTest.Result r = CliTest.run("synth", "--preset", "small", "--type", "q8_0", "--out", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        List<Integer> percents = new ArrayList<>();
        List<String> totals = new ArrayList<>();
        for (String line : r.err().lines().toList()) {
            Matcher m = LINE.matcher(line);
            if (m.matches()) {
                percents.add(Integer.parseInt(m.group(3)));
                totals.add(m.group(2));
            }
        }
        // a line per tenth of the work at least: the first at 0 %, the last at 100 %, rising in between
        assertThat(percents).as(r.err()).hasSizeGreaterThanOrEqualTo(11);
        assertThat(percents.getFirst()).isZero();
        assertThat(percents.getLast()).isEqualTo(100);
        assertThat(percents).isSorted();
        assertThat(totals).containsOnly(totals.getFirst());
        // the total is the encoded tensor data: most of the file, less its header and vocabulary
        long tensorBytes = 0;
        for (SyntheticModel.Planned p : SyntheticModel.ggufTensors(SynthSpec.preset("small"), GgmlType.Q8_0, 1, false, new ArrayList<>())) {
            tensorBytes += p.rows() * p.type().bytesFor(p.cols());
        }
        assertThat(totals.getFirst()).isEqualTo(ProgressDisplay.bytes(tensorBytes));
        assertThat(tensorBytes).isBetween(Files.size(out) * 9 / 10, Files.size(out));
    }
}
