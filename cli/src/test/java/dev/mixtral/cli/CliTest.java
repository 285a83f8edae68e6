package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.Golden;
import dev.mixtral.model.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The CLI contract: JSON shapes on stdout only, exit codes, one-line errors. */
class CliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path F32 = TestData.golden().resolve("tiny/mixtral-tiny-F32.gguf");

    record Result(int exit, String out, String err) {
        JsonNode json() throws Exception {
            return JSON.readTree(out);
        }
    }

    static synchronized Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void everyCommandsHelpRendersWithoutPicocliWarnings() {
        for (String command : new picocli.CommandLine(new Main()).getSubcommands().keySet()) {
            Result r = run(command, "--help");
            assertThat(r.exit()).as(command).isZero();
            assertThat(r.out()).as(command).contains("Usage: mixtral " + command);
            // a description's stray '%' makes picocli print it unformatted, with a warning per use
            assertThat(r.err()).as(command).doesNotContain("WARN");
        }
    }

    @Test
    void tokenizeJson() throws Exception {
        Result r = run("tokenize", "--model", F32.toString(), "--text", "Once upon a time", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.json().toString()).isEqualTo("{\"ids\":[1,9038,2501,263,931]}");
        Result noBos = run("tokenize", "--model", F32.toString(), "--text", "Once upon a time", "--json", "--no-bos");
        assertThat(noBos.json().toString()).isEqualTo("{\"ids\":[9038,2501,263,931]}");
    }

    @Test
    void generateJsonReproducesTheExactGreedyContinuation() throws Exception {
        Golden.Case c = Golden.load("F32").cases().get(1);
        Result r = run("generate", "--model", F32.toString(), "--prompt", c.prompt(), "--temperature", "0",
                "--max-tokens", "12", "--ignore-eos", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode doc = r.json();
        assertThat(ints(doc.get("prompt_tokens"))).containsExactly(c.promptIds());
        assertThat(ints(doc.get("tokens"))).containsExactly(Arrays.copyOf(c.exactGenerated(), 12));
        assertThat(doc.get("text").asText()).isNotEmpty();
    }

    @Test
    void logitsJsonGivesTopKAtEveryPosition() throws Exception {
        Golden.Case c = Golden.load("F32").cases().get(0);
        String ids = Arrays.stream(c.promptIds()).mapToObj(String::valueOf).collect(Collectors.joining(","));
        Result r = run("logits", "--model", F32.toString(), "--tokens", ids, "--top", "5", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode positions = r.json().get("positions");
        assertThat(positions.size()).isEqualTo(c.promptIds().length);
        JsonNode last = positions.get(c.promptIds().length - 1);
        assertThat(last.get("pos").asInt()).isEqualTo(c.promptIds().length - 1);
        assertThat(last.get("top").size()).isEqualTo(5);
        for (int k = 0; k < 5; k++) {
            float[] expected = c.exactTop5()[0][k];
            assertThat(last.get("top").get(k).get(0).asInt()).isEqualTo((int) expected[0]);
            assertThat(last.get("top").get(k).get(1).asDouble()).isCloseTo(expected[1], org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    @Test
    void inspectJsonDescribesTheModel() throws Exception {
        Result r = run("inspect", F32.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode config = r.json().get("config");
        assertThat(config.get("dim").asInt()).isEqualTo(64);
        assertThat(config.get("experts").asInt()).isEqualTo(8);
        assertThat(r.json().get("tensors").size()).isEqualTo(23);
        assertThat(r.json().get("fingerprint").asText()).hasSize(24);
    }

    @Test
    void userErrorsAreOneLineAndNonZero(@TempDir Path dir) {
        Path missing = dir.resolve("nope.gguf");
        Result r = run("generate", "--model", missing.toString(), "--prompt", "x");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("mixtral generate: " + missing + ": no such file or directory");

        Result bad = run("generate", "--model", F32.toString(), "--prompt", "x", "--max-tokens", "0");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err().strip()).isEqualTo("mixtral generate: --max-tokens must be >= 1, got 0");

        Result temp = run("generate", "--model", F32.toString(), "--prompt", "x", "--temperature", "-1");
        assertThat(temp.exit()).isEqualTo(1);
        assertThat(temp.err()).contains("temperature must be a finite number >= 0");

        Result usage = run("generate", "--model", F32.toString(), "--prompt", "x", "--no-such-flag");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("Unknown option: '--no-such-flag'");

        Result token = run("logits", "--model", F32.toString(), "--tokens", "1,99999");
        assertThat(token.exit()).isEqualTo(1);
        assertThat(token.err()).contains("token id 99999 is outside the vocabulary");
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }
}
