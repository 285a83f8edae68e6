package dev.mixtral.model.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.io.ModelFileChannel;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets}, "__metadata__": {...}}} and the tensor bytes. The header
 * is parsed and checked at open (every tensor's dtype, size and bounds); a tensor's bytes are mapped
 * only when asked for. Shapes are returned in ggml order (the reverse of safetensors' row-major shape),
 * so a {@code [rows, cols]} weight has {@code shape[0] = cols}.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers larger than this are refused as corrupt (real ones are well under a megabyte). */
    static final long MAX_HEADER_BYTES = 100L << 20;
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A header entry. {@code shape} is in ggml order; {@code begin}/{@code end} are the data_offsets,
     * relative to the start of the data region.
     */
    public record Entry(String name, String dtype, GgmlType type, long[] shape, long begin, long end) {
        public long byteSize() {
            return end - begin;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final Arena arena = Arena.ofShared();
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, Entry> entries;
    private final AtomicLong mappedBytes = new AtomicLong();

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, String> metadata,
                            Map<String, Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.entries = Collections.unmodifiableMap(entries);
    }

    public static SafetensorsFile open(Path path) {
        return ModelFileChannel.openAndParse(path, channel -> parse(path, channel));
    }

    private static SafetensorsFile parse(Path path, FileChannel channel) {
        long size;
        byte[] header;
        try {
            size = channel.size();
            if (size < 8) {
                throw new ModelFileException(path, "only " + size + " bytes: too short to be a safetensors file");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, len, 0);
            long n = len.getLong(0);
            if (n < 2 || n > size - 8 || n > MAX_HEADER_BYTES) {
                throw new ModelFileException(path, "header length " + Long.toUnsignedString(n)
                        + " does not fit in the file of " + size + " bytes (truncated or not a safetensors file)");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) n);
            readFully(channel, buf, 8);
            header = buf.array();
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot read: " + e.getMessage(), e);
        }
        long dataStart = 8L + header.length;
        long dataSize = size - dataStart;

        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JacksonException e) {
            throw new ModelFileException(path, "header is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot read header: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFileException(path, "header is not a JSON object (not a safetensors file?)");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) throw new ModelFileException(path, "__metadata__ is not a JSON object");
                for (Map.Entry<String, JsonNode> m : node.properties()) metadata.put(m.getKey(), m.getValue().asText());
                continue;
            }
            entries.put(name, entry(path, name, node, dataSize));
        }
        return new SafetensorsFile(path, channel, dataStart, metadata, entries);
    }

    private static Entry entry(Path path, String name, JsonNode node, long dataSize) {
        String where = "tensor " + name;
        if (!node.isObject()) throw new ModelFileException(path, where + ": header entry is not a JSON object");
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw new ModelFileException(path, where + ": header entry has no dtype");
        String dtype = dtypeNode.asText();
        GgmlType type = switch (dtype) {
            case "F32" -> GgmlType.F32;
            case "F16" -> GgmlType.F16;
            case "BF16" -> GgmlType.BF16;
            default -> throw new ModelFileException(path, where + " has dtype " + dtype
                    + ", which is not supported (supported: F32, F16, BF16)");
        };
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw new ModelFileException(path, where + ": header entry has no shape");
        int dims = shapeNode.size();
        long[] shape = new long[Math.max(dims, 1)];
        shape[0] = 1; // a scalar is one element
        long elements = 1;
        for (int i = 0; i < dims; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new ModelFileException(path, where + ": bad shape " + shapeNode);
            }
            shape[dims - 1 - i] = d.asLong(); // ggml order: fastest dimension first
            try {
                elements = Math.multiplyExact(elements, d.asLong());
            } catch (ArithmeticException e) {
                throw new ModelFileException(path, where + ": shape " + shapeNode + " is too large");
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()
                || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw new ModelFileException(path, where + ": header entry has no valid data_offsets [begin, end]");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new ModelFileException(path, where + ": data_offsets " + offsets + " are not a valid range");
        }
        long expected = type.bytesFor(elements);
        if (end - begin != expected) {
            throw new ModelFileException(path, where + ": data_offsets " + offsets + " hold " + (end - begin)
                    + " bytes, but " + dtype + " " + shapeNode + " needs " + expected + " (corrupt header?)");
        }
        if (end > dataSize) {
            throw new ModelFileException(path, where + ": data_offsets " + offsets + " run past the end of the data ("
                    + dataSize + " bytes after the header): truncated file?");
        }
        return new Entry(name, dtype, type, shape, begin, end);
    }

    private static void readFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int r = channel.read(buf, position + buf.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    public Path path() {
        return path;
    }

    /** The {@code __metadata__} strings (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return entries.keySet();
    }

    public boolean has(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new ModelFileException(path, "missing tensor " + name);
        return e;
    }

    /** File offset of the data region (8 + header length). */
    public long dataStart() {
        return dataStart;
    }

    /** Reads the first {@code n} bytes of a tensor without mapping it (for fingerprints). */
    public byte[] peek(String name, int n) {
        Entry e = entry(name);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) Math.min(n, e.byteSize()));
        try {
            while (buf.hasRemaining()) {
                if (channel.read(buf, dataStart + e.begin + buf.position()) < 0) throw new IOException("unexpected end of file");
            }
        } catch (IOException ex) {
            throw new ModelFileException(path, "tensor " + name + ": cannot read: " + ex.getMessage(), ex);
        }
        return buf.array();
    }

    /** Maps only this tensor's bytes. */
    public Tensor tensor(String name) {
        Entry e = entry(name);
        return new Tensor(name, e.type, e.shape.clone(), map(e));
    }

    private MemorySegment map(Entry e) {
        if (e.byteSize() == 0) return MemorySegment.ofArray(new byte[0]);
        try {
            MemorySegment s = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, e.byteSize(), arena);
            mappedBytes.addAndGet(e.byteSize());
            return s;
        } catch (IOException ex) {
            throw new ModelFileException(path, "tensor " + e.name + ": cannot map its bytes: " + ex.getMessage(), ex);
        }
    }

    /** Total tensor bytes mapped so far. */
    public long mappedBytes() {
        return mappedBytes.get();
    }

    /** Unmaps every tensor of this file (their segments become unusable) and closes it. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // read-only
        }
        arena.close();
    }
}
