package dev.mixtral.model.tensor;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Reads small tensors (norm weights) into the heap as f32. */
public final class Vectors {
    private Vectors() {}

    public static float[] toFloats(Tensor t) {
        int n = Math.toIntExact(t.elements());
        if (t.type() == GgmlType.F32) {
            return t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
        }
        float[] out = new float[n];
        Dequantize.row(t.type(), t.data(), 0, out, 0, n);
        return out;
    }
}
