package dev.mixtral.model.synth;

import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.tensor.HalfFloats;
import dev.mixtral.model.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Reading helpers for the synthetic-model tests (small tensors only). */
final class SynthTestSupport {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private SynthTestSupport() {}

    /** All values of a tensor as f32 (decoded; quantized types through {@code GgmlType.decode}). */
    static float[] floats(Tensor t) {
        int n = Math.toIntExact(t.elements());
        float[] out = new float[n];
        switch (t.type()) {
            case F32 -> { for (int i = 0; i < n; i++) out[i] = t.data().getAtIndex(F32, i); }
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(t.data().getAtIndex(I16, i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = HalfFloats.bf16ToF32(t.data().getAtIndex(I16, i)); }
            default -> t.type().decode(t.data(), 0, out, 0, n);
        }
        return out;
    }

    /** Row {@code r} (of {@code cols} values) of {@code all}. */
    static float[] row(float[] all, long r, long cols) {
        return Arrays.copyOfRange(all, (int) (r * cols), (int) ((r + 1) * cols));
    }

    /** The first {@code n} bytes of a file. */
    static byte[] head(Path file, long n) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return in.readNBytes(Math.toIntExact(n));
        }
    }

    static long dataOffset(Path gguf) {
        try (GgufFile f = GgufFile.open(gguf)) {
            return f.dataOffset();
        }
    }

    /** The Hugging Face row that GGUF Q/K row {@code g} holds: GGUF 2i = HF i, 2i+1 = HF i + hd/2 per head. */
    static long hfRow(long g, int headDim) {
        long head = g / headDim;
        long j = g % headDim;
        return head * headDim + (j % 2 == 0 ? j / 2 : j / 2 + headDim / 2);
    }
}
