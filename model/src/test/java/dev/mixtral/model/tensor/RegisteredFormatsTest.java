package dev.mixtral.model.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mixtral.model.kernel.MatMul;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What every format registered in {@link GgmlType} must satisfy, so that a new format is tested by registering
 * it: its id, name and geometry are ggml's, encoding then decoding gives the values back within what its bits
 * allow, and its kernel computes the dot products of the rows it decodes.
 */
class RegisteredFormatsTest {

    /** ggml's type table (id → name, values per block, bytes per block), as the GGUF specification lists it. */
    private record GgmlEntry(String name, int blockSize, int blockBytes) {}

    private static final Map<Integer, GgmlEntry> GGML_TYPES = Map.ofEntries(
            Map.entry(0, new GgmlEntry("F32", 1, 4)),
            Map.entry(1, new GgmlEntry("F16", 1, 2)),
            Map.entry(2, new GgmlEntry("Q4_0", 32, 2 + 16)),
            Map.entry(3, new GgmlEntry("Q4_1", 32, 2 + 2 + 16)),
            Map.entry(6, new GgmlEntry("Q5_0", 32, 2 + 4 + 16)),
            Map.entry(7, new GgmlEntry("Q5_1", 32, 2 + 2 + 4 + 16)),
            Map.entry(8, new GgmlEntry("Q8_0", 32, 2 + 32)),
            Map.entry(10, new GgmlEntry("Q2_K", 256, 2 + 2 + 256 / 16 + 256 / 4)),
            Map.entry(11, new GgmlEntry("Q3_K", 256, 2 + 256 / 4 + 256 / 8 + 12)),
            Map.entry(12, new GgmlEntry("Q4_K", 256, 2 + 2 + 256 / 2 + 12)),
            Map.entry(13, new GgmlEntry("Q5_K", 256, 2 + 2 + 256 / 2 + 256 / 8 + 12)),
            Map.entry(14, new GgmlEntry("Q6_K", 256, 2 + 256 / 2 + 256 / 4 + 256 / 16)),
            Map.entry(15, new GgmlEntry("Q8_K", 256, 4 + 256 + 256 / 8)),
            Map.entry(20, new GgmlEntry("IQ4_NL", 32, 2 + 16)),
            Map.entry(24, new GgmlEntry("I8", 1, 1)),
            Map.entry(25, new GgmlEntry("I16", 1, 2)),
            Map.entry(26, new GgmlEntry("I32", 1, 4)),
            Map.entry(27, new GgmlEntry("I64", 1, 8)),
            Map.entry(28, new GgmlEntry("F64", 1, 8)),
            Map.entry(30, new GgmlEntry("BF16", 1, 2)));

    /** Values enough for 4 blocks of the largest block size. */
    private static final int N = 1024;

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void idNameAndGeometryAreGgmls(GgmlType type) {
        GgmlEntry ggml = GGML_TYPES.get(type.id);
        assertThat(ggml).as("ggml id %d of %s", type.id, type).isNotNull();
        assertThat(type.name()).isEqualTo(ggml.name());
        assertThat(type.format().blockSize()).isEqualTo(type.blockSize).isEqualTo(ggml.blockSize());
        assertThat(type.format().blockBytes()).isEqualTo(type.blockBytes).isEqualTo(ggml.blockBytes());
        assertThat(type.bytesFor(N)).isEqualTo((long) N / ggml.blockSize() * ggml.blockBytes());
        assertThat(GgmlType.byId(type.id)).isSameAs(type);
        assertThat(GgmlType.byName(type.name().toLowerCase())).isSameAs(type);
    }

    /**
     * Values that F16 and BF16 both hold exactly (multiples of 1/64 up to 2 in magnitude): the one-value formats
     * give them back bit for bit; a block format gives each back within its block's largest magnitude, and the
     * whole row with an rms error below 2<sup>2 − bits</sup> of the row's rms, {@code bits} being its bytes per
     * value × 8 (each bit halves the rounding step; the 4-bit formats land near a quarter of that bound).
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void encodeThenDecodeGivesTheValuesBack(GgmlType type) {
        Random r = new Random(11);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) x[i] = (r.nextInt(257) - 128) / 64f;
        byte[] bytes = new byte[(int) type.bytesFor(N)];
        type.encode(x, 0, N, MemorySegment.ofArray(bytes), 0);
        float[] y = new float[N];
        type.decode(MemorySegment.ofArray(bytes), 0, y, 0, N);

        if (!type.isQuantized()) {
            assertThat(y).containsExactly(x);
            return;
        }
        double squaredError = 0, squares = 0;
        for (int b = 0; b < N / type.blockSize; b++) {
            float amax = 0;
            for (int i = b * type.blockSize; i < (b + 1) * type.blockSize; i++) amax = Math.max(amax, Math.abs(x[i]));
            for (int i = b * type.blockSize; i < (b + 1) * type.blockSize; i++) {
                assertThat(Math.abs(y[i] - x[i])).as("%s value %d: %s → %s", type, i, x[i], y[i]).isLessThanOrEqualTo(amax);
                squaredError += (double) (y[i] - x[i]) * (y[i] - x[i]);
                squares += (double) x[i] * x[i];
            }
        }
        double bits = 8.0 * type.blockBytes / type.blockSize;
        assertThat(Math.sqrt(squaredError / squares)).as("%s relative rms error", type).isLessThan(Math.pow(2, 2 - bits));
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void zerosStayZeros(GgmlType type) {
        byte[] bytes = new byte[(int) type.bytesFor(N)];
        type.encode(new float[N], 0, N, MemorySegment.ofArray(bytes), 0);
        float[] y = new float[N];
        type.decode(MemorySegment.ofArray(bytes), 0, y, 0, N);
        for (int i = 0; i < N; i++) assertThat(y[i] == 0f).as("%s value %d is %s", type, i, y[i]).isTrue();
    }

    /**
     * Random bytes with small fp16 numbers at the {@link BlockFormat#scaleOffsets} decode to small finite values:
     * the offsets name every scale of the block (a random fp16 scale would often be huge, infinite or NaN).
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void randomBytesWithOrdinaryScalesAreValidBlocks(GgmlType type) {
        if (!type.isQuantized()) return;
        Random r = new Random(13);
        byte[] bytes = new byte[(int) type.bytesFor(64L * type.blockSize)];
        r.nextBytes(bytes);
        MemorySegment blocks = MemorySegment.ofArray(bytes);
        for (int b = 0; b < 64; b++) {
            for (int s : type.format().scaleOffsets()) HalfFloats.writeF16(blocks, (long) b * type.blockBytes + s, 0.01f);
        }
        float[] y = new float[64 * type.blockSize];
        type.decode(blocks, 0, y, 0, y.length);
        for (int i = 0; i < y.length; i++) assertThat(Math.abs(y[i])).as("%s value %d", type, i).isLessThan(100f);
    }

    /** The registered kernel multiplies the rows the format decodes (within f32 rounding of the sums). */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void kernelMultipliesTheDecodedRows(GgmlType type) {
        int rows = 4;
        Random r = new Random(12);
        float[] w = new float[rows * N];
        float[] x = new float[N];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < N; i++) x[i] = (float) r.nextGaussian();
        MemorySegment stored = MemorySegment.ofArray(new byte[(int) type.bytesFor((long) rows * N)]);
        type.encode(w, 0, w.length, stored, 0);

        assertThat(type.format().kernel()).isNotNull().isSameAs(type.format().kernel());
        float[] out = new float[rows];
        MatMul.multiply(type, stored, rows, N, x, 1, out);
        float[] row = new float[N];
        for (int i = 0; i < rows; i++) {
            type.decode(stored, i * type.bytesFor(N), row, 0, N);
            double dot = 0, magnitude = 0;
            for (int c = 0; c < N; c++) {
                dot += (double) row[c] * x[c];
                magnitude += Math.abs((double) row[c] * x[c]);
            }
            assertThat((double) out[i]).as("%s row %d", type, i).isCloseTo(dot, org.assertj.core.data.Offset.offset(1e-5 * magnitude));
        }
    }
}
