package dev.mixtral.model.gguf;

import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.io.ModelFileChannel;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A GGUF file (versions 2 and 3): its metadata and tensor directory, parsed at open, and its tensor
 * bytes, memory-mapped on demand. Only the regions asked for are mapped, so a process that needs a few
 * experts of a large model maps (and can ever touch) only their bytes.
 */
public final class GgufFile implements AutoCloseable {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final int DEFAULT_ALIGNMENT = 32;
    /** Deeper nesting than any real file has; bounds the reader's recursion. */
    private static final int MAX_ARRAY_NESTING = 16;

    /** A tensor's directory entry. {@code type} is null when this build does not read {@code typeId}. */
    public record TensorInfo(String name, int typeId, GgmlType type, long[] shape, long offset) {
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long byteSize() {
            return type == null ? 0 : type.bytesFor(elements());
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final Arena arena = Arena.ofShared();
    private final long fileSize;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, TensorInfo> tensors;
    private final long dataOffset;
    private final AtomicLong mappedBytes = new AtomicLong();

    private GgufFile(Path path, FileChannel channel, long fileSize, int version, Map<String, GgufValue> metadata,
                     Map<String, TensorInfo> tensors, long dataOffset) {
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.dataOffset = dataOffset;
    }

    public static GgufFile open(Path path) {
        return ModelFileChannel.openAndParse(path, channel -> parse(path, channel));
    }

    private static GgufFile parse(Path path, FileChannel channel) {
        try (Arena headerArena = Arena.ofConfined()) {
            long size = channel.size();
            if (size < 24) {
                throw new ModelFileException(path, "only " + size + " bytes: too short to be a GGUF file");
            }
            // Mapping the whole file costs nothing until pages are read; the parser reads only the header.
            Reader in = new Reader(path, channel.map(FileChannel.MapMode.READ_ONLY, 0, size, headerArena));
            int magic = in.i32();
            if (magic != MAGIC) {
                throw new ModelFileException(path, String.format(
                        "not a GGUF file (magic bytes %s, expected 'GGUF')", printable(magic)));
            }
            int version = in.i32();
            if (version != 2 && version != 3) {
                throw new ModelFileException(path, "GGUF version " + version + " is not supported (2 and 3 are)");
            }
            long tensorCount = in.u64("tensor count");
            long kvCount = in.u64("metadata count");
            Map<String, GgufValue> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = in.string();
                int typeId = in.i32();
                GgufValueType type = GgufValueType.byId(typeId);
                if (type == null) {
                    throw new ModelFileException(path, "metadata '" + key + "' has unknown value type " + typeId
                            + " (corrupt header?)");
                }
                metadata.put(key, in.value(type, key));
            }
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = in.string();
                int dims = in.i32();
                if (dims < 1 || dims > 4) {
                    throw new ModelFileException(path, "tensor " + name + " has " + dims + " dimensions (corrupt header?)");
                }
                long[] shape = new long[dims];
                for (int d = 0; d < dims; d++) shape[d] = in.u64("tensor " + name + " dimension");
                int typeId = in.i32();
                long offset = in.u64("tensor " + name + " offset");
                tensors.put(name, new TensorInfo(name, typeId, GgmlType.byId(typeId), shape, offset));
            }
            long alignment = alignment(path, metadata.get("general.alignment"));
            long dataOffset = (in.position() + alignment - 1) / alignment * alignment;
            for (TensorInfo t : tensors.values()) {
                checkTensorBounds(path, t, dataOffset, size);
            }
            return new GgufFile(path, channel, size, version, metadata, tensors, dataOffset);
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot read: " + e.getMessage(), e);
        }
    }

    /** {@code general.alignment}: llama.cpp requires a power of two; anything else would misplace every tensor. */
    private static long alignment(Path path, GgufValue value) {
        if (value == null) return DEFAULT_ALIGNMENT;
        if (!(value.value() instanceof Long a) || a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw new ModelFileException(path, "general.alignment is " + value.value() + "; it must be a power of two (corrupt header?)");
        }
        return a;
    }

    private static void checkTensorBounds(Path path, TensorInfo t, long dataOffset, long fileSize) {
        // Checked before anything sizes an array or a mapping by it: a shape whose product wraps
        // around 2^63 would otherwise pass as a small (or empty) tensor.
        long elements = 1;
        for (long d : t.shape) {
            try {
                elements = Math.multiplyExact(elements, d);
            } catch (ArithmeticException e) {
                throw new ModelFileException(path, "tensor " + t.name + " has shape " + Arrays.toString(t.shape)
                        + ", more elements than any file can hold (corrupt header?)");
            }
        }
        if (t.type == null) return; // reported when the tensor is used; inspect can still list it
        if (elements % t.type.blockSize != 0) {
            throw new ModelFileException(path, "tensor " + t.name + " (" + t.type + ") has " + elements
                    + " elements, not a multiple of the block size " + t.type.blockSize);
        }
        // elements <= 2^63 and a block is at most a few hundred bytes for a few values: compare in
        // blocks, so neither the byte count nor the end offset can overflow.
        long blocks = elements / t.type.blockSize;
        long room = fileSize - dataOffset - t.offset;
        if (t.offset < 0 || room < 0 || blocks > room / t.type.blockBytes) {
            String end;
            try {
                end = Long.toString(Math.addExact(Math.addExact(dataOffset, t.offset), Math.multiplyExact(blocks, t.type.blockBytes)));
            } catch (ArithmeticException e) {
                end = "beyond 2^63";
            }
            throw new ModelFileException(path, "tensor " + t.name + " needs bytes up to " + end
                    + " but the file has only " + fileSize + " (truncated file?)");
        }
    }

    public Path path() { return path; }
    public int version() { return version; }
    public long fileSize() { return fileSize; }
    public long dataOffset() { return dataOffset; }
    public Map<String, GgufValue> metadata() { return metadata; }
    public List<TensorInfo> tensorInfos() { return List.copyOf(tensors.values()); }

    public TensorInfo tensorInfo(String name) {
        return tensors.get(name);
    }

    /** Maps the whole tensor. */
    public Tensor tensor(String name) {
        TensorInfo info = requireTensor(name);
        return new Tensor(name, info.type, info.shape, map(dataOffset + info.offset, info.byteSize()));
    }

    /**
     * Maps {@code count} consecutive slices of the slowest dimension starting at {@code first}, e.g. one
     * expert of a stacked expert tensor. Only those bytes are mapped.
     */
    public MemorySegment mapSlices(String name, long first, long count) {
        TensorInfo info = requireTensor(name);
        long slices = info.shape[info.shape.length - 1];
        long sliceBytes = info.byteSize() / slices;
        if (first < 0 || first + count > slices) {
            throw new ModelFileException(path, "tensor " + name + " has " + slices + " slices; asked for "
                    + first + ".." + (first + count - 1));
        }
        return map(dataOffset + info.offset + first * sliceBytes, count * sliceBytes);
    }

    public TensorInfo requireTensor(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) throw new ModelFileException(path, "missing tensor " + name);
        if (info.type == null) {
            throw new ModelFileException(path, "tensor " + name + " has ggml type " + info.typeId
                    + ", which this build does not read (supported: " + GgmlType.supported() + ")");
        }
        return info;
    }

    private MemorySegment map(long offset, long length) {
        try {
            MemorySegment segment = channel.map(FileChannel.MapMode.READ_ONLY, offset, length, arena);
            mappedBytes.addAndGet(length);
            return segment;
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot map bytes " + offset + ".." + (offset + length) + ": " + e.getMessage(), e);
        }
    }

    /** Reads the first {@code n} bytes of a tensor without mapping them (for fingerprints). */
    public byte[] peek(String name, int n) {
        TensorInfo info = requireTensor(name);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) Math.min(n, info.byteSize()));
        try {
            long pos = dataOffset + info.offset;
            while (buf.hasRemaining()) {
                int read = channel.read(buf, pos + buf.position());
                if (read < 0) throw new ModelFileException(path, "tensor " + name + " ends early (truncated file?)");
            }
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot read tensor " + name + ": " + e.getMessage(), e);
        }
        return buf.array();
    }

    /** Total bytes of tensor data mapped so far: what this process can ever touch of the file. */
    public long mappedBytes() {
        return mappedBytes.get();
    }

    // ---- metadata accessors -------------------------------------------------------------------

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public GgufValue value(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) throw new ModelFileException(path, "missing metadata key '" + key + "'");
        return v;
    }

    public String getString(String key) {
        return expect(key, String.class);
    }

    public long getLong(String key) {
        return expect(key, Number.class).longValue();
    }

    public int getInt(String key) {
        return Math.toIntExact(getLong(key));
    }

    public float getFloat(String key) {
        return expect(key, Number.class).floatValue();
    }

    public boolean getBool(String key, boolean fallback) {
        return has(key) ? expect(key, Boolean.class) : fallback;
    }

    public <T> T getArray(String key, Class<T> arrayClass) {
        return expect(key, arrayClass);
    }

    private <T> T expect(String key, Class<T> type) {
        Object v = value(key).value();
        if (!type.isInstance(v)) {
            throw new ModelFileException(path, "metadata '" + key + "' is " + value(key).type()
                    + ", expected " + type.getSimpleName());
        }
        return type.cast(v);
    }

    @Override
    public void close() {
        closeQuietly(channel);
        arena.close();
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to save: the file was only read
        }
    }

    private static String printable(int magic) {
        StringBuilder sb = new StringBuilder("'");
        for (int i = 0; i < 4; i++) {
            int c = (magic >>> (8 * i)) & 0xFF;
            sb.append(c >= 32 && c < 127 ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return sb.append("'").toString();
    }

    /** A bounds-checked little-endian cursor over the header. */
    private static final class Reader {
        private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        private final Path path;
        private final MemorySegment segment;
        private long pos;

        Reader(Path path, MemorySegment segment) {
            this.path = path;
            this.segment = segment;
        }

        long position() { return pos; }

        private void need(long bytes, String what) {
            if (bytes < 0 || pos + bytes > segment.byteSize()) {
                throw new ModelFileException(path, "header ends early while reading " + what + " at offset " + pos
                        + " (truncated or corrupt file)");
            }
        }

        int i32() {
            need(4, "a 32-bit value");
            int v = segment.get(I32, pos);
            pos += 4;
            return v;
        }

        long u64(String what) {
            need(8, what);
            long v = segment.get(I64, pos);
            pos += 8;
            if (v < 0) throw new ModelFileException(path, what + " is out of range (corrupt header?)");
            return v;
        }

        String string() {
            long n = u64("a string length");
            need(n, "a string of " + n + " bytes");
            byte[] bytes = segment.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            return new String(bytes, StandardCharsets.UTF_8);
        }

        GgufValue value(GgufValueType type, String key) {
            return value(type, key, 0);
        }

        private GgufValue value(GgufValueType type, String key, int depth) {
            if (type == GgufValueType.ARRAY) {
                if (depth >= MAX_ARRAY_NESTING) {
                    throw new ModelFileException(path, "metadata '" + key + "' nests arrays more than " + MAX_ARRAY_NESTING + " deep (corrupt header?)");
                }
                int elemId = i32();
                GgufValueType elem = GgufValueType.byId(elemId);
                if (elem == null) {
                    throw new ModelFileException(path, "metadata '" + key + "' is an array of unknown type " + elemId);
                }
                long n = u64("array length of '" + key + "'");
                // Refused before allocating: every element takes at least this many bytes of the file.
                if (n > (segment.byteSize() - pos) / minimumBytes(elem) || n > Integer.MAX_VALUE - 8) {
                    throw new ModelFileException(path, "metadata '" + key + "' claims " + n
                            + " elements, more than the file holds (truncated or corrupt file)");
                }
                return GgufValue.array(elem, array(elem, (int) n, key, depth));
            }
            return GgufValue.of(type, scalar(type, key));
        }

        /** The fewest bytes one element of this type is stored in: a string is at least its 8-byte length, an array its type and length. */
        private static long minimumBytes(GgufValueType type) {
            return switch (type) {
                case UINT8, INT8, BOOL -> 1;
                case UINT16, INT16 -> 2;
                case UINT32, INT32, FLOAT32 -> 4;
                case UINT64, INT64, FLOAT64, STRING -> 8;
                case ARRAY -> 12;
            };
        }

        private Object array(GgufValueType elem, int n, String key, int depth) {
            switch (elem) {
                case STRING -> {
                    String[] a = new String[n];
                    for (int i = 0; i < n; i++) a[i] = string();
                    return a;
                }
                case FLOAT32 -> {
                    need(4L * n, "array '" + key + "'");
                    float[] a = segment.asSlice(pos, 4L * n).toArray(F32);
                    pos += 4L * n;
                    return a;
                }
                case FLOAT64 -> {
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++) a[i] = (Double) scalar(elem, key);
                    return a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) a[i] = (Boolean) scalar(elem, key);
                    return a;
                }
                case ARRAY -> {
                    GgufValue[] a = new GgufValue[n];
                    for (int i = 0; i < n; i++) a[i] = value(GgufValueType.ARRAY, key, depth + 1);
                    return a;
                }
                default -> {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) a[i] = (Long) scalar(elem, key);
                    return a;
                }
            }
        }

        private Object scalar(GgufValueType type, String key) {
            String what = "metadata '" + key + "'";
            return switch (type) {
                case UINT8 -> { need(1, what); yield (long) (segment.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF); }
                case INT8 -> { need(1, what); yield (long) segment.get(ValueLayout.JAVA_BYTE, pos++); }
                case BOOL -> { need(1, what); yield segment.get(ValueLayout.JAVA_BYTE, pos++) != 0; }
                case UINT16 -> { need(2, what); long v = segment.get(I16, pos) & 0xFFFF; pos += 2; yield v; }
                case INT16 -> { need(2, what); long v = segment.get(I16, pos); pos += 2; yield v; }
                case UINT32 -> { need(4, what); long v = segment.get(I32, pos) & 0xFFFFFFFFL; pos += 4; yield v; }
                case INT32 -> { need(4, what); long v = segment.get(I32, pos); pos += 4; yield v; }
                case UINT64, INT64 -> { need(8, what); long v = segment.get(I64, pos); pos += 8; yield v; }
                case FLOAT32 -> { need(4, what); float v = segment.get(F32, pos); pos += 4; yield v; }
                case FLOAT64 -> { need(8, what); double v = segment.get(F64, pos); pos += 8; yield v; }
                case STRING -> string();
                case ARRAY -> throw new IllegalStateException("arrays are read by value()");
            };
        }
    }
}
