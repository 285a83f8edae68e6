package dev.mixtral.model.fuzz;

import dev.mixtral.model.gguf.GgufValue;
import dev.mixtral.model.gguf.GgufValueType;
import dev.mixtral.model.gguf.GgufWriter;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tokenizer.TokenizerJson;
import dev.mixtral.model.tokenizer.Vocabulary;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the seed inputs of the fuzz targets: small valid files of each kind, from which the fuzzer's
 * mutations start. Run once; the seeds live under {@code src/test/resources} beside the crash inputs.
 * Argument: the test resources directory.
 */
public final class FuzzSeeds {
    public static void main(String[] args) throws Exception {
        Path inputs = Path.of(args[0], "dev", "mixtral", "model", "fuzz");
        Vocabulary vocab = new Vocabulary(new String[]{"<unk>", "<s>", "</s>", "<0x41>", "▁", "a", "b", "▁a", "ab"},
                new float[]{0, 0, 0, 0, -1, -2, -3, -4, -5}, new int[]{2, 3, 3, 6, 1, 1, 1, 1, 1}, 1, 2, 0, true, true);

        Path gguf = Files.createTempFile("seed", ".gguf");
        GgufWriter w = GgufWriter.create(gguf)
                .put("general.architecture", GgufValue.string("llama"))
                .put("llama.block_count", GgufValue.u32(1))
                .put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.array(GgufValueType.STRING, vocab.tokens()))
                .put("tokenizer.ggml.scores", GgufValue.array(GgufValueType.FLOAT32, new float[]{0, 0, 0, 0, -1, -2, -3, -4, -5}))
                .put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, new long[]{2, 3, 3, 6, 1, 1, 1, 1, 1}))
                .put("tokenizer.ggml.bos_token_id", GgufValue.u32(1))
                .addTensor("a", GgmlType.F32, 4, 2)
                .addTensor("b", GgmlType.Q8_0, 32, 1);
        w.start();
        w.writeRows("a", 0, 2, new float[8], 0);
        w.writeRows("b", 0, 1, new float[32], 0);
        w.finish();
        copy(gguf, inputs.resolve("GgufFuzzTestInputs/gguf/seed-small.gguf"));

        write(inputs.resolve("SafetensorsFuzzTestInputs/safetensors/seed-small.safetensors"), SafetensorsIndexFuzzTest.shard(
                "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"));
        write(inputs.resolve("SafetensorsIndexFuzzTestInputs/index/seed-index.json"),
                "{\"metadata\":{\"total_size\":8},\"weight_map\":{\"w\":\"a.safetensors\"}}".getBytes(StandardCharsets.UTF_8));

        Path tj = Files.createTempFile("seed", ".json");
        TokenizerJson.write(vocab, tj);
        copy(tj, inputs.resolve("TokenizerJsonFuzzTestInputs/tokenizerJson/seed-tokenizer.json"));
    }

    private static void copy(Path from, Path to) throws Exception {
        write(to, Files.readAllBytes(from));
        Files.delete(from);
    }

    private static void write(Path to, byte[] bytes) throws Exception {
        Files.createDirectories(to.getParent());
        Files.write(to, bytes);
    }
}
