package dev.mixtral.model.safetensors;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mixtral.model.io.MappedOutputFile;
import dev.mixtral.model.io.PythonJson;
import dev.mixtral.model.tensor.GgmlType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a safetensors checkpoint as a stream, like {@link dev.mixtral.model.gguf.GgufWriter}: declare
 * the tensors (name, F32/F16/BF16, shape in ggml order), {@link #start()} writes the headers and maps
 * the data regions, then rows are filled from any number of threads, and {@link #finish()} moves the
 * files into place. Writes {@code model.safetensors}, or, when the tensors exceed the shard threshold,
 * {@code model-0000i-of-0000n.safetensors} shards (tensors in declaration order, a new shard whenever
 * the next tensor would pass the threshold) plus {@code model.safetensors.index.json}.
 */
public final class SafetensorsWriter implements AutoCloseable {
    /** Hugging Face's default shard size for {@code save_pretrained}-like output. */
    public static final long DEFAULT_SHARD_BYTES = 2_000_000_000L;

    private record Declared(String name, GgmlType type, long[] shape, long byteSize) {}

    private record Placed(Declared tensor, int shard, long offset) {}

    private final Path dir;
    private final long shardBytes;
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Declared> declared = new LinkedHashMap<>();
    private final Map<String, Placed> placed = new LinkedHashMap<>();
    private final List<MappedOutputFile> outputs = new ArrayList<>();
    private final List<MemorySegment> regions = new ArrayList<>();
    private boolean started;
    private boolean finished;

    private SafetensorsWriter(Path dir, long shardBytes) {
        if (shardBytes < 1) throw new IllegalArgumentException("shard size must be positive");
        this.dir = dir;
        this.shardBytes = shardBytes;
        metadata.put("format", "pt");
    }

    /** A writer into {@code dir} sharding at {@link #DEFAULT_SHARD_BYTES}. */
    public static SafetensorsWriter create(Path dir) {
        return new SafetensorsWriter(dir, DEFAULT_SHARD_BYTES);
    }

    /** A writer into {@code dir} that starts a new shard before a tensor that would pass {@code shardBytes}. */
    public static SafetensorsWriter create(Path dir, long shardBytes) {
        return new SafetensorsWriter(dir, shardBytes);
    }

    /** Sets an {@code __metadata__} string ({@code format = pt} is preset). */
    public SafetensorsWriter metadata(String key, String value) {
        requireNotStarted();
        metadata.put(key, value);
        return this;
    }

    /** Declares a tensor; {@code shape} is in ggml order (the header stores it reversed, row-major). */
    public SafetensorsWriter addTensor(String name, GgmlType type, long... shape) {
        requireNotStarted();
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16) {
            throw new IllegalArgumentException("tensor " + name + ": safetensors holds F32, F16 or BF16, not " + type);
        }
        if (name.equals("__metadata__") || declared.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " declared twice (or reserved name)");
        }
        long elements = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor " + name + ": bad shape " + Arrays.toString(shape));
            elements = Math.multiplyExact(elements, d);
        }
        declared.put(name, new Declared(name, type, shape.clone(), type.bytesFor(elements)));
        return this;
    }

    /** Assigns tensors to files, writes every header and maps every data region. */
    public void start() {
        requireNotStarted();
        started = true;
        List<List<Declared>> shards = new ArrayList<>();
        List<Declared> current = new ArrayList<>();
        long size = 0;
        for (Declared t : declared.values()) {
            if (!current.isEmpty() && size + t.byteSize > shardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.byteSize;
        }
        shards.add(current);
        try {
            Files.createDirectories(dir);
            for (int s = 0; s < shards.size(); s++) {
                long offset = 0;
                ObjectNode header = SafetensorsFile.JSON.createObjectNode();
                ObjectNode meta = header.putObject("__metadata__");
                metadata.forEach(meta::put);
                for (Declared t : shards.get(s)) {
                    ObjectNode e = header.putObject(t.name);
                    e.put("dtype", t.type.name());
                    var shape = e.putArray("shape");
                    for (int d = t.shape.length - 1; d >= 0; d--) shape.add(t.shape[d]);
                    e.putArray("data_offsets").add(offset).add(offset + t.byteSize);
                    placed.put(t.name, new Placed(t, s, offset));
                    offset += t.byteSize;
                }
                byte[] json = SafetensorsFile.JSON.writeValueAsBytes(header);
                int padded = (json.length + 7) / 8 * 8; // the reference writer pads the header with spaces to 8 bytes
                byte[] head = new byte[8 + padded];
                ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(json);
                Arrays.fill(head, 8 + json.length, head.length, (byte) ' ');
                MappedOutputFile out = new MappedOutputFile(dir.resolve(fileName(s, shards.size())), head, head.length, offset);
                outputs.add(out);
                regions.add(out.data());
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot write safetensors into " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static String fileName(int shard, int shards) {
        return shards == 1 ? SafetensorsCheckpoint.SINGLE_FILE
                : String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
    }

    /** Number of files written (1 when unsharded). */
    public int shardCount() {
        if (!started) throw new IllegalStateException("safetensors writer for " + dir + " not started");
        return outputs.size();
    }

    /** The tensor's bytes in its mapped shard; write them from any thread. */
    public MemorySegment data(String name) {
        requireStarted();
        Placed p = slot(name);
        return regions.get(p.shard).asSlice(p.offset, p.tensor.byteSize);
    }

    /** Encodes one row ({@code shape[0]} values) into row {@code row} of the tensor. */
    public void writeRow(String name, long row, float[] src, int srcOff) {
        writeRows(name, row, 1, src, srcOff);
    }

    public void writeRows(String name, long firstRow, int count, float[] src, int srcOff) {
        requireStarted();
        Placed p = slot(name);
        long cols = p.tensor.shape.length == 0 ? 1 : p.tensor.shape[0];
        long rows = cols == 0 ? 0 : p.tensor.byteSize / p.tensor.type.bytesFor(cols);
        if (firstRow < 0 || firstRow + count > rows) {
            throw new IndexOutOfBoundsException("tensor " + name + " has " + rows + " rows; asked for " + firstRow + "+" + count);
        }
        int n = Math.toIntExact(cols * count);
        p.tensor.type.encode(src, srcOff, n, regions.get(p.shard),
                p.offset + firstRow * p.tensor.type.bytesFor(cols));
    }

    private Placed slot(String name) {
        Placed p = placed.get(name);
        if (p == null) throw new IllegalArgumentException("tensor " + name + " was not declared");
        return p;
    }

    /** Moves every file into place and, when sharded, writes the index (last). */
    public void finish() {
        requireStarted();
        if (finished) return;
        for (MappedOutputFile out : outputs) out.finish();
        Path indexFile = dir.resolve(SafetensorsCheckpoint.INDEX_FILE);
        if (outputs.size() == 1) {
            try {
                Files.deleteIfExists(indexFile); // a stale index would shadow the new single file
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove stale " + indexFile, e);
            }
        } else {
            long total = 0;
            for (Placed p : placed.values()) total += p.tensor.byteSize;
            Map<String, Object> weightMap = new TreeMap<>();
            placed.values().forEach(p -> weightMap.put(p.tensor.name, fileName(p.shard, outputs.size())));
            Map<String, Object> index = new LinkedHashMap<>();
            index.put("metadata", Map.of("total_size", total));
            index.put("weight_map", weightMap);
            try {
                // as transformers writes it: json.dumps(index, indent=2, sort_keys=True) + "\n"
                Files.writeString(indexFile, PythonJson.dumps(index) + "\n", StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + indexFile, e);
            }
        }
        finished = true;
    }

    /** If {@link #finish()} was not called, deletes the partial files. */
    @Override
    public void close() {
        for (MappedOutputFile out : outputs) out.close();
    }

    private void requireNotStarted() {
        if (started) throw new IllegalStateException("safetensors writer for " + dir + " already started");
    }

    private void requireStarted() {
        if (!started) throw new IllegalStateException("safetensors writer for " + dir + " not started");
        if (finished) throw new IllegalStateException("safetensors writer for " + dir + " already finished");
    }
}
