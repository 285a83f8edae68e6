package dev.mixtral.model.tensor;

/** Reads small tensors (norm weights) into the heap as f32. */
public final class Vectors {
    private Vectors() {}

    public static float[] toFloats(Tensor t) {
        int n = Math.toIntExact(t.elements());
        float[] out = new float[n];
        t.type().decode(t.data(), 0, out, 0, n);
        return out;
    }
}
