package dev.mixtral.model.tensor;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The layouts of stored tensor bytes: GGUF and safetensors store numbers little-endian, at offsets that need
 * not be aligned.
 */
public final class ByteLayouts {
    private ByteLayouts() {}

    public static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
}
