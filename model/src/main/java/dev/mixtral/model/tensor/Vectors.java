package dev.mixtral.model.tensor;

/** Reads small tensors (norm weights) into the heap as f32. */
public final class Vectors {
    private Vectors() {}

    public static float[] toFloats(Tensor t) {
        int n = Math.toIntExact(t.elements());
        if (t.type() == GgmlType.F32) {
            return t.data().toArray(ByteLayouts.FLOAT_LE);
        }
        float[] out = new float[n];
        Dequantize.row(t.type(), t.data(), 0, out, 0, n);
        return out;
    }
}
