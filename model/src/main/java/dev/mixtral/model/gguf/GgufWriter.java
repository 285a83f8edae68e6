package dev.mixtral.model.gguf;

import dev.mixtral.model.io.MappedOutputFile;
import dev.mixtral.model.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF v3 file as a stream: declare the metadata and every tensor (name, type, shape) first,
 * then {@link #start()} computes the tensor offsets, writes the header and memory-maps the data region,
 * after which tensors (or single rows) are filled through {@link #data} / {@link #writeRow}, from any
 * number of threads concurrently. {@link #finish()} unmaps and moves the file into place; closing
 * without finishing deletes the partial file, so a failed write never leaves a plausible-looking model.
 *
 * <p>Layout as llama.cpp's gguf writer: header, zero padding to {@code general.alignment} (default 32),
 * then tensors in declaration order, each starting at an aligned offset relative to the data region,
 * and the file padded to an aligned length.
 *
 * <pre>{@code
 * try (GgufWriter w = GgufWriter.create(path)) {
 *     w.put("general.architecture", GgufValue.string("llama"));
 *     w.addTensor("token_embd.weight", GgmlType.Q8_0, 4096, 32000);
 *     w.start();
 *     rows.parallel().forEach(r -> w.writeRow("token_embd.weight", r, values(r), 0));
 *     w.finish();
 * }
 * }</pre>
 */
public final class GgufWriter implements AutoCloseable {
    public static final int VERSION = 3;
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian

    /** A declared tensor and, after {@link #start()}, its offset in the data region. */
    public record TensorSlot(String name, GgmlType type, long[] shape, long offset, long byteSize) {
        public long rows() {
            long r = 1;
            for (int i = 1; i < shape.length; i++) r *= shape[i];
            return r;
        }

        public long rowBytes() {
            return type.bytesFor(shape[0]);
        }
    }

    private final Path path;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final Map<String, TensorSlot> tensors = new LinkedHashMap<>();
    private MappedOutputFile out;
    private MemorySegment data;
    private long dataOffset = -1;
    private long fileSize;
    private boolean finished;

    private GgufWriter(Path path) {
        this.path = path;
    }

    /** A writer for {@code path}; nothing touches the disk until {@link #start()}. */
    public static GgufWriter create(Path path) {
        return new GgufWriter(path);
    }

    public Path path() {
        return path;
    }

    /** Adds (or replaces, keeping its position) a metadata entry. Values are checked against their type. */
    public GgufWriter put(String key, GgufValue value) {
        requireNotStarted();
        checkValue(key, value);
        if (key.equals("general.alignment")) {
            if (value.type() != GgufValueType.UINT32 || Long.bitCount((Long) value.value()) != 1) {
                throw new IllegalArgumentException("general.alignment must be a u32 power of two, got " + value);
            }
        }
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putAll(Map<String, GgufValue> values) {
        values.forEach(this::put);
        return this;
    }

    public Map<String, GgufValue> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /** Declares a tensor; {@code shape} is in ggml order ({@code shape[0]} = row length). */
    public GgufWriter addTensor(String name, GgmlType type, long... shape) {
        requireNotStarted();
        if (tensors.containsKey(name)) throw new IllegalArgumentException("tensor " + name + " declared twice");
        if (shape.length < 1 || shape.length > 4) {
            throw new IllegalArgumentException("tensor " + name + ": GGUF tensors have 1 to 4 dimensions, got " + shape.length);
        }
        long elements = 1;
        for (long d : shape) {
            if (d < 1) throw new IllegalArgumentException("tensor " + name + ": bad shape " + Arrays.toString(shape));
            elements = Math.multiplyExact(elements, d);
        }
        if (shape[0] % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor " + name + ": row length " + shape[0] + " is not a multiple of "
                    + type + "'s block size " + type.blockSize);
        }
        tensors.put(name, new TensorSlot(name, type, shape.clone(), -1, type.bytesFor(elements)));
        return this;
    }

    public int alignment() {
        GgufValue v = metadata.get("general.alignment");
        return v == null ? DEFAULT_ALIGNMENT : Math.toIntExact((Long) v.value());
    }

    /**
     * Computes offsets, writes the header to a {@code .part} file beside the target, sizes the file and
     * maps its data region for writing.
     */
    public void start() {
        requireNotStarted();
        int alignment = alignment();
        long offset = 0;
        for (Map.Entry<String, TensorSlot> e : tensors.entrySet()) {
            TensorSlot t = e.getValue();
            e.setValue(new TensorSlot(t.name, t.type, t.shape, offset, t.byteSize));
            offset = align(offset + t.byteSize, alignment);
        }
        byte[] header = header();
        long start = align(header.length, alignment);
        out = new MappedOutputFile(path, header, start, offset);
        data = out.data();
        dataOffset = start;
        fileSize = start + offset;
    }

    public boolean started() {
        return dataOffset >= 0;
    }

    /** The declared tensors, with their offsets once started. */
    public List<TensorSlot> tensors() {
        return List.copyOf(tensors.values());
    }

    public TensorSlot slot(String name) {
        TensorSlot t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("tensor " + name + " was not declared");
        return t;
    }

    /** File offset of the data region (after {@link #start()}). */
    public long dataOffset() {
        if (!started()) throw new IllegalStateException("GGUF writer for " + path + " not started");
        return dataOffset;
    }

    public long fileSize() {
        if (!started()) throw new IllegalStateException("GGUF writer for " + path + " not started");
        return fileSize;
    }

    /** The tensor's bytes in the mapped output: write them from any thread. */
    public MemorySegment data(String name) {
        requireStarted();
        TensorSlot t = slot(name);
        return data.asSlice(t.offset, t.byteSize);
    }

    /**
     * Encodes one row ({@code shape[0]} values from {@code src[srcOff ..]}) into row {@code row} of the
     * tensor (rows counted over all slower dimensions, e.g. {@code expert * rowsPerExpert + r}).
     */
    public void writeRow(String name, long row, float[] src, int srcOff) {
        writeRows(name, row, 1, src, srcOff);
    }

    /** Encodes {@code count} consecutive rows starting at row {@code firstRow}. */
    public void writeRows(String name, long firstRow, int count, float[] src, int srcOff) {
        requireStarted();
        TensorSlot t = slot(name);
        if (firstRow < 0 || firstRow + count > t.rows()) {
            throw new IndexOutOfBoundsException("tensor " + name + " has " + t.rows() + " rows; asked for "
                    + firstRow + "+" + count);
        }
        int n = Math.toIntExact(t.shape[0] * count);
        t.type.encode(src, srcOff, n, data, t.offset + firstRow * t.rowBytes());
    }

    /** Unmaps, closes and moves the finished file to its name. */
    public void finish() {
        requireStarted();
        out.finish();
        finished = true;
    }

    /** If {@link #finish()} was not called, deletes the partial file. */
    @Override
    public void close() {
        if (out != null) out.close();
    }

    private void requireNotStarted() {
        if (started()) throw new IllegalStateException("GGUF writer for " + path + " already started");
    }

    private void requireStarted() {
        if (!started()) throw new IllegalStateException("GGUF writer for " + path + " not started");
        if (finished) throw new IllegalStateException("GGUF writer for " + path + " already finished");
    }

    private static long align(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    // ---- header serialisation -----------------------------------------------------------------

    private byte[] header() {
        Out out = new Out();
        out.i32(MAGIC);
        out.i32(VERSION);
        out.i64(tensors.size());
        out.i64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.i32(e.getValue().type().id());
            writeValue(out, e.getValue());
        }
        for (TensorSlot t : tensors.values()) {
            out.string(t.name);
            out.i32(t.shape.length);
            for (long d : t.shape) out.i64(d);
            out.i32(t.type.id);
            out.i64(t.offset);
        }
        return out.toByteArray();
    }

    private static void writeValue(Out out, GgufValue v) {
        if (v.type() != GgufValueType.ARRAY) {
            writeScalar(out, v.type(), v.value());
            return;
        }
        GgufValueType elem = v.elementType();
        out.i32(elem.id());
        out.i64(v.arrayLength());
        switch (v.value()) {
            case long[] a -> { for (long x : a) writeScalar(out, elem, x); }
            case float[] a -> { for (float x : a) out.i32(Float.floatToRawIntBits(x)); }
            case double[] a -> { for (double x : a) out.i64(Double.doubleToRawLongBits(x)); }
            case boolean[] a -> { for (boolean x : a) out.u8(x ? 1 : 0); }
            case String[] a -> { for (String x : a) out.string(x); }
            case GgufValue[] a -> { for (GgufValue x : a) writeValue(out, x); }
            default -> throw new IllegalStateException("unchecked array value " + v);
        }
    }

    private static void writeScalar(Out out, GgufValueType type, Object value) {
        switch (type) {
            case UINT8, INT8 -> out.u8((int) (long) (Long) value);
            case UINT16, INT16 -> out.i16((int) (long) (Long) value);
            case UINT32, INT32 -> out.i32((int) (long) (Long) value);
            case UINT64, INT64 -> out.i64((Long) value);
            case FLOAT32 -> out.i32(Float.floatToRawIntBits((Float) value));
            case FLOAT64 -> out.i64(Double.doubleToRawLongBits((Double) value));
            case BOOL -> out.u8((Boolean) value ? 1 : 0);
            case STRING -> out.string((String) value);
            case ARRAY -> throw new IllegalStateException("arrays are written by writeValue");
        }
    }

    /** Rejects values whose Java form does not match their declared GGUF type (a programming error). */
    static void checkValue(String key, GgufValue v) {
        if (v == null || v.type() == null) throw new IllegalArgumentException("metadata '" + key + "': no value");
        if (v.type() == GgufValueType.ARRAY) {
            GgufValueType elem = v.elementType();
            if (elem == null) throw new IllegalArgumentException("metadata '" + key + "': array without element type");
            boolean ok = switch (elem) {
                case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> v.value() instanceof long[] a
                        && allInRange(elem, a);
                case FLOAT32 -> v.value() instanceof float[];
                case FLOAT64 -> v.value() instanceof double[];
                case BOOL -> v.value() instanceof boolean[];
                case STRING -> v.value() instanceof String[] a && Arrays.stream(a).allMatch(s -> s != null);
                case ARRAY -> v.value() instanceof GgufValue[] a && Arrays.stream(a).allMatch(
                        x -> x != null && x.type() == GgufValueType.ARRAY);
            };
            if (!ok) {
                throw new IllegalArgumentException("metadata '" + key + "': array of " + elem + " cannot hold "
                        + (v.value() == null ? "null" : v.value().getClass().getSimpleName()));
            }
            if (v.value() instanceof GgufValue[] a) for (GgufValue x : a) checkValue(key, x);
            return;
        }
        boolean ok = switch (v.type()) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> v.value() instanceof Long l
                    && inRange(v.type(), l);
            case FLOAT32 -> v.value() instanceof Float;
            case FLOAT64 -> v.value() instanceof Double;
            case BOOL -> v.value() instanceof Boolean;
            case STRING -> v.value() instanceof String;
            case ARRAY -> false;
        };
        if (!ok) {
            throw new IllegalArgumentException("metadata '" + key + "': " + v.type() + " cannot hold " + v.value()
                    + (v.value() == null ? "" : " (" + v.value().getClass().getSimpleName() + ")"));
        }
    }

    private static boolean allInRange(GgufValueType type, long[] a) {
        for (long x : a) if (!inRange(type, x)) return false;
        return true;
    }

    private static boolean inRange(GgufValueType type, long x) {
        return switch (type) {
            case UINT8 -> x >= 0 && x <= 0xFF;
            case INT8 -> x >= Byte.MIN_VALUE && x <= Byte.MAX_VALUE;
            case UINT16 -> x >= 0 && x <= 0xFFFF;
            case INT16 -> x >= Short.MIN_VALUE && x <= Short.MAX_VALUE;
            case UINT32 -> x >= 0 && x <= 0xFFFFFFFFL;
            case INT32 -> x >= Integer.MIN_VALUE && x <= Integer.MAX_VALUE;
            default -> true; // u64 is stored in a long's bits
        };
    }

    /** A growable little-endian byte buffer. */
    private static final class Out {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (buf.remaining() >= n) return;
            int cap = buf.capacity();
            while (cap - buf.position() < n) cap = Math.multiplyExact(cap, 2);
            ByteBuffer bigger = ByteBuffer.allocate(cap).order(ByteOrder.LITTLE_ENDIAN);
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }

        void u8(int v) { ensure(1); buf.put((byte) v); }
        void i16(int v) { ensure(2); buf.putShort((short) v); }
        void i32(int v) { ensure(4); buf.putInt(v); }
        void i64(long v) { ensure(8); buf.putLong(v); }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            ensure(b.length);
            buf.put(b);
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf.array(), buf.position());
        }
    }
}
