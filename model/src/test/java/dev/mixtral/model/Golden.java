package dev.mixtral.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The reference outputs in testdata/golden/tiny-*.json (llama.cpp and an exact float64 forward pass). */
public record Golden(String type, Path gguf, List<Case> cases) {

    /** One prompt's references. {@code exactTop5[step]} holds [id, logit] pairs, best first. */
    public record Case(String prompt, int[] promptIds, int[] exactGenerated, int[] llamaGenerated, int[] llamaKvF32Generated,
                       float[][][] exactTop5, float[] llamaMargins) {}

    public static Golden load(String type) {
        Path json = TestData.golden().resolve("tiny-" + type + ".json");
        try {
            JsonNode root = new ObjectMapper().readTree(json.toFile());
            List<Case> cases = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                cases.add(new Case(c.get("prompt").asText(), ints(c.get("prompt_ids")), ints(c.get("exact_generated")),
                        ints(c.get("generated")), ints(c.get("kv_f32_generated")), top(c.get("exact_top5_per_step")),
                        floats(c.get("margins"))));
            }
            return new Golden(type, TestData.golden().resolve(root.get("model").get("file").asText()), cases);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    private static float[] floats(JsonNode a) {
        float[] r = new float[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = (float) a.get(i).asDouble();
        return r;
    }

    private static float[][][] top(JsonNode steps) {
        float[][][] r = new float[steps.size()][][];
        for (int s = 0; s < r.length; s++) {
            JsonNode step = steps.get(s);
            r[s] = new float[step.size()][];
            for (int k = 0; k < step.size(); k++) r[s][k] = floats(step.get(k));
        }
        return r;
    }
}
