package dev.mixtral.model.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.safetensors.SafetensorsCheckpoint;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A sharded checkpoint's {@code model.safetensors.index.json} on arbitrary bytes, beside one valid shard
 * ({@code a.safetensors}, tensor {@code w}) and a directory an index might try to escape to.
 */
class SafetensorsIndexFuzzTest {
    /** {@code w}: F32, shape [2], data_offsets [0, 8]. */
    static final byte[] SHARD = shard("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");

    @FuzzTest(maxDuration = "3s")
    void index(byte[] data) {
        Path dir = FuzzFiles.newDir();
        try {
            Path checkpoint = dir.resolve("ckpt");
            checkpoint.toFile().mkdir();
            FuzzFiles.write(checkpoint, "a.safetensors", SHARD);
            FuzzFiles.write(dir, "outside.safetensors", SHARD);
            FuzzFiles.write(checkpoint, SafetensorsCheckpoint.INDEX_FILE, data);
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(checkpoint)) {
                for (String name : c.names()) c.entry(name);
                for (Path file : c.files()) {
                    if (!file.getParent().toAbsolutePath().normalize().equals(checkpoint.toAbsolutePath().normalize())) {
                        throw new AssertionError("the index reached a file outside its directory: " + file);
                    }
                }
            } catch (ModelFileException expected) {
                // refused with a message naming the file
            }
        } finally {
            FuzzFiles.delete(dir);
        }
    }

    static byte[] shard(String header) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + h.length + 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).putFloat(1f).putFloat(2f);
        return b.array();
    }
}
