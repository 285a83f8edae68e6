package dev.mixtral.cli;

import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.model.kernel.VectorWidth;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One process's answer for {@link VectorWidthIT}: for each model, the greedy tokens after a fixed prompt and the
 * logits of scoring prompt and tokens (a batched prefill), written with the kernels' vector width to a file. Run
 * as the main class of a child JVM started with the JIT and width flags under test.
 */
final class WidthProbe {
    static final int[] PROMPT = {1, 415, 2936, 9060, 285, 1142};
    static final int TOKENS = 12;

    record Answer(int[] tokens, float[] logits) {}

    record Report(int bits, int preferredBits, List<Answer> answers) {}

    private WidthProbe() {}

    /** {@code WidthProbe OUT MODEL...}: writes the {@link Report} for the models to OUT. */
    public static void main(String[] args) throws IOException {
        List<Answer> answers = new ArrayList<>();
        for (int i = 1; i < args.length; i++) answers.add(answer(Path.of(args[i])));
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(Path.of(args[0]))))) {
            out.writeInt(VectorWidth.BITS);
            out.writeInt(VectorWidth.PREFERRED_BITS);
            out.writeInt(answers.size());
            for (Answer a : answers) {
                out.writeInt(a.tokens().length);
                for (int t : a.tokens()) out.writeInt(t);
                out.writeInt(a.logits().length);
                for (float f : a.logits()) out.writeInt(Float.floatToRawIntBits(f));
            }
        }
    }

    /** The answer of a model computed in this process (experts local or remote, as {@code model} was opened). */
    static Answer answer(MixtralModel model) {
        Generator g = new Generator(model.transformer(), KvCache.Type.F32, 256);
        int[] tokens = g.generate(PROMPT, TOKENS, SamplingParams.GREEDY);
        return new Answer(tokens, g.score(ClusterSupport.concat(PROMPT, tokens)));
    }

    static Answer answer(Path model) {
        try (MixtralModel m = MixtralModel.local(model)) {
            return answer(m);
        }
    }

    static Report read(Path file) {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            int bits = in.readInt(), preferred = in.readInt(), n = in.readInt();
            List<Answer> answers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int[] tokens = new int[in.readInt()];
                for (int j = 0; j < tokens.length; j++) tokens[j] = in.readInt();
                float[] logits = new float[in.readInt()];
                for (int j = 0; j < logits.length; j++) logits[j] = Float.intBitsToFloat(in.readInt());
                answers.add(new Answer(tokens, logits));
            }
            return new Report(bits, preferred, answers);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }
}
