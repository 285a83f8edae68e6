package dev.mixtral.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** One node at a time records the class-data archive; it is moved into place only once written; later nodes map it. */
class NodeClassArchiveTest {
    static final List<String> JAVA = List.of("/usr/bin/java", "-Xss4m");

    @Test
    void oneNodeRecordsTheOthersWaitForTheArchiveThenAllMapIt(@TempDir Path dir) throws Exception {
        NodeClassArchive.Use recorder = NodeClassArchive.use(JAVA, dir);
        String recordTo = option(recorder, "-XX:ArchiveClassesAtExit=");
        assertThat(recordTo).as("the first node records").isNotNull().startsWith(dir.toString());
        NodeClassArchive.Use meanwhile = NodeClassArchive.use(JAVA, dir);
        assertThat(meanwhile.jvmOptions()).as("while it runs, others neither record nor map").isEmpty();

        // the recorder was killed before writing anything: nothing is moved into place, and the next node records
        recorder.afterExit().run();
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
        NodeClassArchive.Use second = NodeClassArchive.use(JAVA, dir);
        Path recorded = Path.of(option(second, "-XX:ArchiveClassesAtExit="));
        Files.write(recorded, new byte[] {1, 2, 3}); // what the JVM writes at exit
        second.afterExit().run();

        NodeClassArchive.Use mapped = NodeClassArchive.use(JAVA, dir);
        Path archive = Path.of(option(mapped, "-XX:SharedArchiveFile="));
        assertThat(archive).hasBinaryContent(new byte[] {1, 2, 3});
        assertThat(recorded).doesNotExist();
        assertThat(mapped.jvmOptions()).contains("-Xlog:cds=off", "-Xlog:aot=off");
        NodeClassArchive.Use otherFlags = NodeClassArchive.use(List.of("/usr/bin/java", "-Xss8m"), dir);
        assertThat(otherFlags.jvmOptions()).as("other flags: another archive, recorded anew").anyMatch(o -> o.startsWith("-XX:ArchiveClassesAtExit="));
        otherFlags.afterExit().run(); // its node is done: the next one (another test's) may record
    }

    @Test
    void anotherProcessMapsTheNodesArchiveOnceItExistsAndNeverRecordsIt(@TempDir Path dir) throws Exception {
        NodeClassArchive.Use before = NodeClassArchive.ifRecorded(JAVA, dir);
        assertThat(before.jvmOptions()).as("nothing recorded yet: no archive options").isEmpty();
        assertThat(before.classPath()).as("and the whole class path").isEqualTo(System.getProperty("java.class.path"));

        NodeClassArchive.Use recorder = NodeClassArchive.use(JAVA, dir);
        assertThat(NodeClassArchive.ifRecorded(JAVA, dir).jvmOptions()).as("while a node records").isEmpty();
        Files.write(Path.of(option(recorder, "-XX:ArchiveClassesAtExit=")), new byte[] {1, 2, 3});
        recorder.afterExit().run();

        NodeClassArchive.Use after = NodeClassArchive.ifRecorded(JAVA, dir);
        assertThat(Path.of(option(after, "-XX:SharedArchiveFile="))).hasBinaryContent(new byte[] {1, 2, 3});
        assertThat(after.classPath()).as("the class path the archive was recorded with").isEqualTo(NodeClassArchive.use(JAVA, dir).classPath());
        assertThat(NodeClassArchive.ifRecorded(List.of("/usr/bin/java", "-Xss8m"), dir).jvmOptions()).as("other flags: no archive").isEmpty();
        try (var files = Files.list(dir)) {
            assertThat(files).as("nothing recorded by it").hasSize(1);
        }
    }

    @Test
    void aNodeClassPathHasNoDirectoriesTheJvmWouldRefuseToArchive(@TempDir Path dir) {
        NodeClassArchive.Use use = NodeClassArchive.use(JAVA, dir);
        List<String> entries = List.of(use.classPath().split(File.pathSeparator));
        assertThat(entries).isNotEmpty().noneMatch(e -> Files.isDirectory(Path.of(e)))
                .isSubsetOf(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        use.afterExit().run();
    }

    private static String option(NodeClassArchive.Use use, String prefix) {
        return use.jvmOptions().stream().filter(o -> o.startsWith(prefix)).map(o -> o.substring(prefix.length())).findFirst().orElse(null);
    }
}
