package dev.mixtral.model.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mixtral.model.TestData;
import dev.mixtral.model.gguf.GgufFile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Our Q8_0 / Q4_0 quantizers against llama.cpp's own output: {@code llama-quantize} made the golden
 * mixtral-tiny-Q8_0 and -Q4_0 files from mixtral-tiny-F32, so quantizing the F32 file's tensors must give
 * exactly the quantized files' bytes; and dequantizing those bytes must land within a block step of the
 * F32 values.
 */
class QuantGoldenFilesTest {

    private static Path tiny(String name) {
        return TestData.golden().resolve("tiny").resolve(name);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0"})
    void quantizingTheF32FileReproducesLlamaQuantizeByteForByte(GgmlType type) {
        try (GgufFile f32 = GgufFile.open(tiny("mixtral-tiny-F32.gguf"));
             GgufFile quant = GgufFile.open(tiny("mixtral-tiny-" + type + ".gguf"));
             Arena arena = Arena.ofConfined()) {
            int tensors = 0;
            long bytes = 0, values = 0;
            List<String> mismatches = new ArrayList<>();
            for (GgufFile.TensorInfo info : quant.tensorInfos()) {
                if (info.type() != type) continue;
                Tensor q = quant.tensor(info.name());
                Tensor ref = f32.tensor(info.name());
                assertThat(ref.type()).as(info.name()).isEqualTo(GgmlType.F32);
                assertThat(ref.shape()).as(info.name()).containsExactly(q.shape());

                int rowLen = Math.toIntExact(q.shape()[0]);
                long rows = q.elements() / rowLen;
                long rowBytes = type.bytesFor(rowLen);
                float[] row = new float[rowLen];
                MemorySegment mine = arena.allocate(rowBytes);
                for (long r = 0; r < rows; r++) {
                    GgmlType.F32.decode(ref.data(), r * 4L * rowLen, row, 0, rowLen);
                    type.encode(row, 0, rowLen, mine, 0);
                    MemorySegment theirs = q.data().asSlice(r * rowBytes, rowBytes);
                    long at = mine.mismatch(theirs);
                    if (at >= 0 && mismatches.size() < 5) {
                        mismatches.add(info.name() + " row " + r + " byte " + at + " (block " + at / type.blockBytes
                                + "): ours " + mine.get(ByteLayouts.BYTE, at) + ", llama.cpp " + theirs.get(ByteLayouts.BYTE, at));
                    }
                }
                assertThat(q.data().byteSize()).isEqualTo(rows * rowBytes);
                tensors++;
                bytes += q.data().byteSize();
                values += q.elements();
            }
            System.out.printf("[golden %s] %d tensors, %d values, %d bytes compared; mismatches: %s%n",
                    type, tensors, values, bytes, mismatches.isEmpty() ? "none" : mismatches);
            assertThat(tensors).as("tensors of type " + type + " in the golden file").isEqualTo(16);
            assertThat(mismatches).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0"})
    void dequantizingLlamaCppBytesGivesTheLayoutsValuesWithinABlockStepOfF32(GgmlType type) {
        try (GgufFile f32 = GgufFile.open(tiny("mixtral-tiny-F32.gguf"));
             GgufFile quant = GgufFile.open(tiny("mixtral-tiny-" + type + ".gguf"))) {
            long checked = 0;
            double worstRelToStep = 0;
            for (GgufFile.TensorInfo info : quant.tensorInfos()) {
                if (info.type() != type) continue;
                Tensor q = quant.tensor(info.name());
                Tensor ref = f32.tensor(info.name());
                int rowLen = Math.toIntExact(q.shape()[0]);
                long rows = q.elements() / rowLen;
                long rowBytes = type.bytesFor(rowLen);
                float[] x = new float[rowLen];
                float[] y = new float[rowLen];
                byte[] raw = new byte[(int) rowBytes];
                for (long r = 0; r < rows; r++) {
                    GgmlType.F32.decode(ref.data(), r * 4L * rowLen, x, 0, rowLen);
                    type.decode(q.data(), r * rowBytes, y, 0, rowLen);
                    MemorySegment.copy(q.data(), ByteLayouts.BYTE, r * rowBytes, raw, 0, raw.length);
                    ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
                    for (int b = 0; b < rowLen / 32; b++) {
                        int base = b * type.blockBytes;
                        float d = Float.float16ToFloat(bb.getShort(base));
                        for (int j = 0; j < 32; j++) {
                            // the value the documented layout gives, read independently of the codec
                            int q8 = type == GgmlType.Q8_0 ? raw[base + 2 + j]
                                    : (j < 16 ? (raw[base + 2 + j] & 0x0F) : ((raw[base + 2 + j - 16] & 0xFF) >>> 4)) - 8;
                            float expected = q8 * d;
                            int i = b * 32 + j;
                            assertThat(Float.floatToRawIntBits(y[i]))
                                    .as("%s row %d value %d", info.name(), r, i)
                                    .isEqualTo(Float.floatToRawIntBits(expected));
                            float bound = Bounds.elementBound(type, x, b * 32, x[i]);
                            assertThat(Math.abs(y[i] - x[i])).as("%s row %d value %d", info.name(), r, i)
                                    .isLessThanOrEqualTo(bound);
                            float step = Bounds.step(type, x, b * 32);
                            if (step > 0) worstRelToStep = Math.max(worstRelToStep, Math.abs(y[i] - x[i]) / step);
                            checked++;
                        }
                    }
                }
            }
            System.out.printf("[golden %s] dequantized %d values; worst |error| = %.3f of the block step%n",
                    type, checked, worstRelToStep);
            assertThat(checked).isPositive();
        }
    }
}
