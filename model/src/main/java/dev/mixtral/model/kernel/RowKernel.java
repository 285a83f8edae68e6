package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;

/**
 * The fused dot-product kernels of one weight type: stored rows are widened to f32 in registers and
 * multiplied into f32 activations, with no decode pass. For a batch, rows are read from a {@code byte[]} into
 * which {@link MatMul} copies a block of rows of the mapped segment at a time, then multiplied by all its
 * tokens; a single token is read straight from the segment by the types that have such a {@link #rows4}
 * variant (Q8_0, Q4_0 and the K-quants), where a copy could not overlap the memory stream.
 *
 * <h2>The summation order, which makes results independent of batching</h2>
 * Each type walks a row as a fixed sequence of 8-value groups: in column order, or in the order of its
 * {@link #blockOrder} within each 32 columns (the lanes its widening produces). For one (row, token) pair,
 * every kernel computes exactly:
 * <pre>
 *   acc = 0 (8 lanes);  for each group g in the type's order:  acc = fma(w_g, x_g, acc)
 *   result = {@link VectorMath#sumLanes}(acc), then, for a column count not a multiple of 8, result = fma(w_c, x_c, result) per extra column
 * </pre>
 * The kernels hand their accumulators back through a {@code lanes} array and {@link MatMul} does the last
 * line. The quantized types instead factor the block scale out of each block's dot product (one FMA per
 * weight, as llama.cpp does): per block {@code s = 0; s = fma(q_g, x_g, s)} over its 4 groups, then
 * {@code acc = fma(s, d, acc)} — see {@link Q8_0Kernel} and {@link Q4_0Kernel}; the K-quants per sub-block, with
 * their mins as one more FMA per super-block against the activations' block sums ({@link Q4_KKernel},
 * {@link Q6_KKernel}). The same fixed rule in every kernel shape, so the invariance below holds for them too.
 *
 * <p>Why the kernels spell every vector operation out instead of calling small helpers: C2 parses a method
 * within a fixed node budget ({@code NodeCountInliningCutoff}), each Vector API call costs hundreds of nodes,
 * and past the budget C2 stops inlining ordinary methods — a helper that takes or returns a vector then
 * boxes it on every call (measured 10-20× slower). The JDK's own {@code @ForceInline} methods are exempt, so a
 * kernel body that calls only those stays fast however large it, or its inlined caller, gets.
 *
 * <p>Why a change of lane type names its target species ({@code convertShape(I2F, FLOATS, 0)},
 * {@code reinterpretShape(INTS, 0)}, never {@code convert(I2F, 0)} or {@code reinterpretAsInts()}), and why the
 * K-quant kernels write {@code lanewise(FMA, b, c)}, {@code lanewise(AND, INT_0x0F)}, {@code lanewise(LSHR, INT_8)}
 * rather than {@code fma}, {@code and(0x0F)}, {@code lanewise(LSHR, 8)}: C2 inlines the Vector API's intrinsics after
 * parsing, so while it parses a kernel their results are only "some IntVector", and a final convenience method then
 * dispatches on that vector inside the JDK, bound by the JDK method's type profile, which every caller in the JVM
 * shares. Once 512-bit vectors of the same element type have run through it (Q8_0's row pairs), C2 merges both
 * classes' code and boxes the vector. The methods used instead are overridden by each vector class, so the call is
 * bound at the kernel's own call site, whose profile sees one width (docs/vector-width.md, "What slows the 256-bit
 * kernels in a 512-bit JVM").
 *
 * <p>In the rule above {@code w_g} is the group's 8 weights exactly as {@code GgmlType.decode} decodes them. The
 * kernels differ only in how many (row, token) pairs they compute together — {@link #rows4} 4 rows × 1 token
 * for decode, {@link #tile2x4} 2 rows × 4 tokens for batches, sharing each widened weight group between its
 * tokens (the quantized types run both one row at a time: one stream of weights keeps the loop small) — so a
 * token's result never depends on which kernel, batch, thread or machine computed it.
 *
 * <h2>The vector width, which changes no result either</h2>
 * The 8 lanes above are logical: each kernel computes its accumulator as {@code 8 / }{@link #PASS} passes of
 * {@link #PASS} lanes at the {@link VectorWidth} this JVM runs (one 8-lane pass at 256 bits, two 4-lane passes
 * at 128). A pass starting at lane {@code l0} loads the same bytes and activations the 8-lane form puts in lanes
 * {@code l0 .. l0 + PASS} (byte offset {@code + 4·l0} for vectors of ints, column {@code + l0}) and applies the same
 * lanewise operations, so every lane holds the same bits at every width, and {@link VectorMath#sumLanes} adds
 * them in the same tree. At 512 bits the kernels with a row-pair form ({@link #vectorBits}) hold two rows' 8-lane
 * accumulators in one 16-lane vector, row A's in lanes 0-7 and row B's in 8-15 (see {@link #PAIR_FLOATS}); the
 * others run their 256-bit form.
 */
public abstract class RowKernel {
    /** The execution species ({@link VectorWidth#BITS} wide): floats, ints and longs of one vector. */
    static final VectorSpecies<Float> FLOATS = VectorWidth.BITS == 128 ? FloatVector.SPECIES_128 : FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> INTS = VectorWidth.BITS == 128 ? IntVector.SPECIES_128 : IntVector.SPECIES_256;
    static final VectorSpecies<Long> LONGS = VectorWidth.BITS == 128 ? LongVector.SPECIES_128 : LongVector.SPECIES_256;
    /** The bytes of one vector of ints, loaded and reinterpreted as ints (or floats). */
    static final VectorSpecies<Byte> INT_BYTES = VectorWidth.BITS == 128 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_256;
    /** The bytes of as many 16-bit values as a vector has int lanes, widened to ints. */
    static final VectorSpecies<Byte> SHORT_BYTES = VectorWidth.BITS == 128 ? ByteVector.SPECIES_64 : ByteVector.SPECIES_128;
    /**
     * The lanes of one pass: every kernel's 8-lane accumulator is computed as {@code 8 / PASS} passes of
     * {@code PASS} lanes, pass {@code l0} (0, or 0 and 4) holding lanes {@code l0 .. l0 + PASS}. All arithmetic is
     * lanewise, so a lane's value never depends on the pass it is in. At 256 bits the loop over passes runs once
     * and C2 folds it away.
     */
    static final int PASS = FLOATS.length();

    /**
     * The species of the kernels that run a <em>pair of rows</em> per pass: {@link VectorWidth#BITS} wide. Their
     * passes walk the 16 logical lanes of two (row, token) accumulators, lanes 0-7 row A's and 8-15 row B's,
     * {@link #ROW_PAIR_PASS} lanes at a time: four passes of 4 lanes at 128 bits, two of 8 at 256 (row A, then row
     * B, exactly the passes of the single-row form), one of 16 at 512, where each operation works on both rows'
     * lanes at once. A lane's operations and their order are the same in every case.
     */
    static final VectorSpecies<Float> PAIR_FLOATS = FloatVector.SPECIES_512.withShape(VectorShape.forBitSize(VectorWidth.BITS));
    static final VectorSpecies<Integer> PAIR_INTS = IntVector.SPECIES_512.withShape(VectorShape.forBitSize(VectorWidth.BITS));
    static final VectorSpecies<Long> PAIR_LONGS = LongVector.SPECIES_512.withShape(VectorShape.forBitSize(VectorWidth.BITS));
    static final VectorSpecies<Byte> PAIR_INT_BYTES = ByteVector.SPECIES_512.withShape(VectorShape.forBitSize(VectorWidth.BITS));
    /** The logical lanes of one pass of the row-pair kernels: 4, 8 or 16. */
    static final int ROW_PAIR_PASS = PAIR_FLOATS.length();
    /** Whether one pass holds both rows of a pair (512 bits): its loads then fill lanes 8-15 from row B. */
    static final boolean PAIRED = ROW_PAIR_PASS == 16;
    /**
     * How many times the row-pair kernels find each 8 activations in a row: at 512 bits twice, so that one 16-lane
     * load gives both rows' lanes the same token values ({@link MatMul} lays them out so, see {@link #activationCopies}).
     */
    static final int X_COPIES = PAIRED ? 2 : 1;
    /** Lanes 0-7 (row A) and 8-15 (row B) of a 512-bit pass; unused at the other widths. */
    static final VectorMask<Float> ROW_A = VectorMask.fromLong(PAIR_FLOATS, 0x00FFL), ROW_B = VectorMask.fromLong(PAIR_FLOATS, 0xFF00L);
    /**
     * Row A's 8 ints and row B's in a 512-bit pass: a 64-byte load from A's offset, blended with one from 32 bytes
     * before B's (masked loads measured ~1.4× slower). So a 512-bit pass reads up to {@value #ROW_SLACK} bytes past
     * row A's data and before row B's: the callers keep that much of the array or segment on either side (see
     * {@link #rows4}).
     */
    static final VectorMask<Byte> ROW_B_BYTES = VectorMask.fromLong(PAIR_INT_BYTES, 0xFFFF_FFFF_0000_0000L);
    static final VectorMask<Integer> ROW_B_INTS = VectorMask.fromLong(PAIR_INTS, 0xFF00L);
    /** The bytes a 512-bit pass may read beyond a row's own (see {@link #ROW_B_BYTES}). */
    public static final int ROW_SLACK = 32;
    // ints to floats: the quantized kernels widen bytes to ints within 32-bit lanes, by shifts and masks
    static final VectorOperators.Conversion<Integer, Float> I2F = VectorOperators.I2F;
    static final VectorOperators.Binary LSHR = VectorOperators.LSHR, LSHL = VectorOperators.LSHL, ASHR = VectorOperators.ASHR, XOR = VectorOperators.XOR;
    static final VectorOperators.Binary AND = VectorOperators.AND, OR = VectorOperators.OR, MUL = VectorOperators.MUL;
    static final VectorOperators.Ternary FMA = VectorOperators.FMA;
    /**
     * The K-quant kernels' constant operands (shift counts, masks) as vectors of {@link #INTS}: with these, and with
     * {@code lanewise(FMA, ...)}, {@code lanewise(MUL, ...)}, {@code blend(vector, mask)} instead of {@code fma},
     * {@code mul}, {@code and(int)}, {@code lanewise(LSHR, 8)}, {@code blend(float, mask)}, every operation is a method
     * each vector class overrides, bound at the kernel's own call site (see the class comment).
     */
    static final IntVector INT_2 = IntVector.broadcast(INTS, 2), INT_4 = IntVector.broadcast(INTS, 4),
            INT_8 = IntVector.broadcast(INTS, 8), INT_10 = IntVector.broadcast(INTS, 10), INT_12 = IntVector.broadcast(INTS, 12),
            INT_16 = IntVector.broadcast(INTS, 16), INT_18 = IntVector.broadcast(INTS, 18), INT_20 = IntVector.broadcast(INTS, 20),
            INT_24 = IntVector.broadcast(INTS, 24), INT_26 = IntVector.broadcast(INTS, 26), INT_28 = IntVector.broadcast(INTS, 28);
    static final IntVector INT_0x0F = IntVector.broadcast(INTS, 0x0F), INT_0x1F = IntVector.broadcast(INTS, 0x1F),
            INT_0xFF = IntVector.broadcast(INTS, 0xFF), INT_0x01010101 = IntVector.broadcast(INTS, 0x01010101),
            INT_0x03030303 = IntVector.broadcast(INTS, 0x03030303), INT_0x0F0F0F0F = IntVector.broadcast(INTS, 0x0F0F0F0F),
            INT_0x20202020 = IntVector.broadcast(INTS, 0x20202020), INT_0x30303030 = IntVector.broadcast(INTS, 0x30303030);
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final VarHandle I16_LE = MethodHandles.byteArrayViewVarHandle(short[].class, LE);
    static final VarHandle I32_LE = MethodHandles.byteArrayViewVarHandle(int[].class, LE);
    static final VarHandle I64_LE = MethodHandles.byteArrayViewVarHandle(long[].class, LE);
    static final VarHandle F32_LE = MethodHandles.byteArrayViewVarHandle(float[].class, LE);

    /**
     * Accumulates 4 rows against one token: the lanes of row {@code i} · {@code x[xo .. xo + cols)} go to
     * {@code lanes[8i .. 8i + 8)}, row {@code i} starting at byte {@code p_i} of {@code w}. Rows may repeat
     * (the caller pads a short tile that way). Columns past the last multiple of 8 are left to {@link #tail}. The
     * kernels may read {@link #ROW_SLACK} bytes of {@code w} before and after the rows: the caller leaves that room.
     */
    public abstract void rows4(byte[] w, int p0, int p1, int p2, int p3,
                               float[] x, int xo, int cols, float[] lanes);

    /**
     * Accumulates 2 rows against 4 tokens: the lanes of row {@code r} · token {@code t} (whose activations start
     * at {@code x[x_t]}) go to {@code lanes[8·(4r + t) ..)}. Rows or tokens may repeat.
     */
    public abstract void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3,
                                 int cols, float[] lanes);

    /**
     * {@link #rows4} reading straight from the mapped segment, for a single token, where the block copy
     * cannot overlap the memory stream; the same operations in the same order. Returns false when the type
     * has no such variant (the caller then copies the rows). The 4 rows are distinct and in order, each pair
     * {@code (p0, p1)}, {@code (p2, p3)} adjacent, so a pass's reads past row A and before row B stay in the pair.
     */
    public boolean rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        return false;
    }

    /**
     * The order in which the kernels read each 32-column block of the activations, or null for column order:
     * entry i is the block column the kernels expect at position i. {@link MatMul} hands the kernels
     * activations rearranged so, once per call, which lets a kernel take a block's values in the order its
     * widening produces them.
     */
    int[] blockOrder() {
        return null;
    }

    /**
     * The {@link #blockOrder} of kernels that load 32 bytes as 8 ints and take byte g of every int as group g:
     * position {@code 8g + j} of each 32 columns is column {@code 4j + g}.
     */
    static final int[] INT_BYTES_ORDER = new int[32];

    static {
        for (int g = 0; g < 4; g++) {
            for (int j = 0; j < 8; j++) INT_BYTES_ORDER[8 * g + j] = 4 * j + g;
        }
    }

    /**
     * The order of the sums of 32-column blocks the kernels read after each token's activations, or null when
     * they read none: within every 8 blocks (256 columns), position l holds the sum of block {@code order[l]},
     * so a token's activations {@code x[xo .. xo + cols)} are followed by its {@code cols / 32} sums. A block's
     * sum, over its activations {@code a[0 .. 32)} in {@link #blockOrder}: {@code s_l = (a[l] + a[8 + l]) +
     * (a[16 + l] + a[24 + l])} for the 8 lanes, then {@link VectorMath#sumLanes}. {@link MatMul} computes them
     * once per call, for the K-quants' min terms ({@link Q4_KKernel}).
     */
    int[] blockSumOrder() {
        return null;
    }

    /**
     * The width this type's kernels run at: {@link VectorWidth#BITS} for the types with a row-pair form (which runs
     * 16 lanes at 512 bits), at most 256 for the others (their 8-lane passes).
     */
    public int vectorBits() {
        return Math.min(VectorWidth.BITS, 256);
    }

    /**
     * How many times in a row the kernels read each 8 floats of a token's activations and block sums: 2 for kernels
     * running row pairs at 512 bits ({@link #X_COPIES}), 1 otherwise. {@link MatMul} lays the activations out so.
     */
    final int activationCopies() {
        return vectorBits() == 512 ? 2 : 1;
    }

    /** Each width and the weight types whose kernels run at it, e.g. {@code "512 bits: Q8_0 Q4_K Q5_K; 256 bits: F32 ..."}. */
    public static String widthsByType() {
        Map<Integer, List<String>> byWidth = new TreeMap<>(Comparator.reverseOrder());
        for (GgmlType t : GgmlType.values()) byWidth.computeIfAbsent(of(t).vectorBits(), b -> new ArrayList<>()).add(t.name());
        StringJoiner j = new StringJoiner("; ");
        byWidth.forEach((bits, types) -> j.add(bits + " bits: " + String.join(" ", types)));
        return j.toString();
    }

    /**
     * The size of the {@code lanes} array the kernels are handed: 64 accumulator lanes ({@link #tile2x4}'s
     * 2 × 4 × 8), then 16 from {@link #SCALES}.
     */
    public static final int LANES = 80;

    /** Where in {@code lanes} a kernel may keep 16 floats of its own while it runs (a super-block's scales and mins). */
    static final int SCALES = 64;

    /**
     * Adds the columns past the last multiple of 8 to a row's lane sum {@code s}, one {@code fma} each in column
     * order. Only the unblocked types (F32, F16, BF16) have any.
     */
    public float tail(float s, byte[] w, int p, float[] x, int xo, int cols) {
        return s;
    }

    /** The kernels of a weight type. */
    public static RowKernel of(GgmlType type) {
        return type.format().kernel();
    }

    // ---- widening helpers shared by the kernels ----

    /** The fp16 at byte {@code off}, as f32 (exact). */
    static float f16(byte[] w, int off) {
        return Float.float16ToFloat((short) I16_LE.get(w, off));
    }

    static final ValueLayout.OfShort SEG_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    /**
     * The fp16 at byte {@code off} of the mapped segment, as f32 (exact). Q6_K spells this out instead
     * ({@code Float.float16ToFloat(w.get(SEG_I16, off))}): in its larger bodies C2 leaves the call un-inlined,
     * and reading the scales inline makes Q4_K_M decode ~2% faster. Q4_K and Q5_K read theirs once per
     * super-block in {@link KScales#unpack}, a method small enough for either.
     */
    static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(SEG_I16, off));
    }
}
