package dev.mixtral.model.weights;

import dev.mixtral.model.ResidentMemory;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.LocalExperts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** Loading experts {2,5} maps, and so can touch, only their bytes; paging them in reads exactly those. */
class ExpertSubsetMappingTest {

    @Test
    void loadingTwoExpertsMapsAndTouchesOnlyTheirBytes(@TempDir Path dir) throws IOException {
        // a private copy: other tests in this JVM may have the fixture mapped, and residency is counted per file
        Path gguf = Files.copy(TestData.tinyGguf("F32"), dir.resolve("private-copy.gguf"));
        try (ModelFiles files = ModelFiles.open(gguf)) {
            var c = files.config();
            long expertTensorBytes = files.tensors().stream().filter(t -> t.name().contains("_exps")).mapToLong(ModelFiles.TensorEntry::bytes).sum();
            long before = files.mappedBytes();
            LocalExperts experts = LocalExperts.load(files, new TreeSet<>(List.of(2, 5)));
            long mapped = files.mappedBytes() - before;
            assertThat(mapped).isEqualTo(expertTensorBytes * 2 / c.experts());

            // Touch every byte the node holds by computing with it, then ask the kernel what is resident.
            for (int l = 0; l < c.layers(); l++) {
                for (int e : experts.held()) experts.compute(l, e, new float[c.dim()], 1);
            }
            long resident = ResidentMemory.ofFile(ProcessHandle.current().pid(), gguf);
            System.out.printf("experts {2,5} of %s: mapped %d of %d expert bytes (%.1f%%), resident %d bytes%n",
                    gguf.getFileName(), mapped, expertTensorBytes, 100.0 * mapped / expertTensorBytes, resident);
            long pageSlack = 2L * 4096 * c.layers() * 3 * 2; // each mapped slice may straddle a page at each end
            assertThat(resident).isGreaterThanOrEqualTo(mapped).isLessThanOrEqualTo(mapped + pageSlack);
            assertThat(resident).isLessThan(Files.size(gguf) / 4);
        }
    }

    @Test
    void pagingInReadsEveryHeldByteBeforeAnyCallAndNothingElse(@TempDir Path dir) throws IOException {
        Path gguf = Files.copy(TestData.tinyGguf("F32"), dir.resolve("private-copy.gguf"));
        try (ModelFiles files = ModelFiles.open(gguf)) {
            long before = files.mappedBytes();
            LocalExperts experts = LocalExperts.load(files, new TreeSet<>(List.of(2, 5)));
            long mapped = files.mappedBytes() - before;
            long pid = ProcessHandle.current().pid();
            assertThat(ResidentMemory.ofFile(pid, gguf)).as("mapping alone reads nothing").isLessThan(mapped / 2);

            List<long[]> reports = new java.util.ArrayList<>();
            long paged = experts.pageIn((done, total) -> reports.add(new long[] {done, total}));

            assertThat(paged).isEqualTo(mapped);
            assertThat(reports).isNotEmpty();
            assertThat(reports.getLast()).containsExactly(mapped, mapped);
            for (int i = 1; i < reports.size(); i++) assertThat(reports.get(i)[0]).isGreaterThan(reports.get(i - 1)[0]);
            long resident = ResidentMemory.ofFile(pid, gguf);
            long pageSlack = 2L * 4096 * files.config().layers() * 3 * 2;
            assertThat(resident).isGreaterThanOrEqualTo(mapped).isLessThanOrEqualTo(mapped + pageSlack);
        }
    }
}
