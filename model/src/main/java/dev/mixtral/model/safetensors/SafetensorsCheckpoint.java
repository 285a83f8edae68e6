package dev.mixtral.model.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face checkpoint's weights: a directory holding {@code model.safetensors}, or a sharded
 * {@code model.safetensors.index.json} ({@code {"weight_map": {tensor: shard file}}}) with its shards.
 * Every shard's header is parsed and checked at open; {@link #tensor} maps only the bytes of the
 * tensor asked for.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private SafetensorsCheckpoint(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.dir = dir;
        this.files = List.copyOf(files);
        this.byTensor = Collections.unmodifiableMap(byTensor);
    }

    /** Opens a checkpoint directory (or a single {@code .safetensors} file). */
    public static SafetensorsCheckpoint open(Path dir) {
        if (Files.isRegularFile(dir)) return single(dir.getParent() == null ? Path.of(".") : dir.getParent(), dir);
        if (!Files.isDirectory(dir)) throw new ModelFileException(dir, "no such checkpoint directory");
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return sharded(dir, index);
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) return single(dir, single);
        throw new ModelFileException(dir, "no " + SINGLE_FILE + " or " + INDEX_FILE + " in this directory");
    }

    private static SafetensorsCheckpoint single(Path dir, Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        for (String name : f.names()) byTensor.put(name, f);
        return new SafetensorsCheckpoint(dir, List.of(f), byTensor);
    }

    private static SafetensorsCheckpoint sharded(Path dir, Path index) {
        JsonNode root;
        try {
            root = SafetensorsFile.JSON.readTree(index.toFile());
        } catch (JacksonException e) {
            throw new ModelFileException(index, "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ModelFileException(index, "cannot read: " + e.getMessage(), e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new ModelFileException(index, "no \"weight_map\" object (not a safetensors index?)");
        }
        Path base = dir.toAbsolutePath().normalize();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
                String tensor = e.getKey();
                String shardName = e.getValue().asText();
                Path shardPath = base.resolve(shardName).normalize();
                if (!e.getValue().isTextual() || shardName.isEmpty() || !base.equals(shardPath.getParent())) {
                    throw new ModelFileException(index, "tensor " + tensor + " maps to " + e.getValue()
                            + ", which is not a file name in this directory");
                }
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    if (!Files.isRegularFile(shardPath)) {
                        throw new ModelFileException(index, "tensor " + tensor + " is in shard " + shardName
                                + ", which is missing");
                    }
                    shard = SafetensorsFile.open(shardPath);
                    opened.add(shard);
                    shards.put(shardName, shard);
                }
                if (!shard.has(tensor)) {
                    throw new ModelFileException(shardPath, "missing tensor " + tensor + " (listed in " + INDEX_FILE + ")");
                }
                byTensor.put(tensor, shard);
            }
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
        return new SafetensorsCheckpoint(dir, opened, byTensor);
    }

    public Path dir() {
        return dir;
    }

    /** The safetensors files of this checkpoint (one, or the shards in index order). */
    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    public boolean has(String name) {
        return byTensor.containsKey(name);
    }

    public Set<String> names() {
        return byTensor.keySet();
    }

    /** The header entry (dtype, ggml-order shape, offsets) without mapping anything. */
    public SafetensorsFile.Entry entry(String name) {
        return fileOf(name).entry(name);
    }

    /** The first {@code n} bytes of a tensor, read without mapping it. */
    public byte[] peek(String name, int n) {
        return fileOf(name).peek(name, n);
    }

    /** Maps only this tensor's bytes; shape in ggml order. */
    public Tensor tensor(String name) {
        return fileOf(name).tensor(name);
    }

    private SafetensorsFile fileOf(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) throw new ModelFileException(dir, "missing tensor " + name);
        return f;
    }

    /** Total tensor bytes mapped so far over all shards. */
    public long mappedBytes() {
        long n = 0;
        for (SafetensorsFile f : files) n += f.mappedBytes();
        return n;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
