package dev.mixtral.model.fuzz;

import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.tokenizer.TokenizerJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Headers that claim far more than their file holds are refused with a message before anything is
 * allocated by the claim. Each file here is a few hundred bytes; the test JVM's heap could not hold
 * what they claim, so an allocation by the claim would fail the test with an OutOfMemoryError.
 */
class HostileHeadersTest {
    static final int F32 = 0, UINT32 = 4, STRING = 8, ARRAY = 9;
    Path dir;

    @BeforeEach
    void dir() {
        dir = FuzzFiles.newDir();
    }

    @AfterEach
    void clean() {
        FuzzFiles.delete(dir);
    }

    @Test
    void aTensorOf2To60ElementsIsRefused() {
        expectRefused(gguf(0, out -> {}, 1, t -> tensor(t, "huge", F32, 1L << 30, 1L << 30)), "tensor huge needs bytes up to");
    }

    @Test
    void aShapeWhoseElementCountWrapsAround2To64IsRefused() {
        expectRefused(gguf(0, out -> {}, 1, t -> tensor(t, "wrap", F32, 1L << 32, 1L << 32)), "more elements than any file can hold");
    }

    @Test
    void aTensorWhoseByteCountWrapsIsRefused() {
        expectRefused(gguf(0, out -> {}, 1, t -> tensor(t, "bytes", F32, 1L << 62)), "beyond 2^63");
    }

    @Test
    void aFourGigabyteStringIsRefused() {
        expectRefused(gguf(1, kv -> {
            kv.putLong(3).put("key".getBytes(StandardCharsets.UTF_8)).putInt(STRING).putLong(4L << 30);
        }, 0, t -> {}), "a string of 4294967296 bytes");
    }

    @Test
    void anArrayClaimingMoreElementsThanTheFileHoldsIsRefused() {
        expectRefused(gguf(1, kv -> {
            kv.putLong(3).put("arr".getBytes(StandardCharsets.UTF_8)).putInt(ARRAY).putInt(STRING).putLong(1L << 40);
        }, 0, t -> {}), "claims 1099511627776 elements");
        // each string needs at least its 8-byte length: 100 claimed strings do not fit in these few bytes
        expectRefused(gguf(1, kv -> {
            kv.putLong(3).put("arr".getBytes(StandardCharsets.UTF_8)).putInt(ARRAY).putInt(STRING).putLong(100);
        }, 0, t -> {}), "claims 100 elements");
    }

    @Test
    void arraysNestedDeeperThanAnyRealFileAreRefused() {
        expectRefused(gguf(1, kv -> {
            kv.putLong(3).put("arr".getBytes(StandardCharsets.UTF_8)).putInt(ARRAY);
            for (int i = 0; i < 40; i++) kv.putInt(ARRAY).putLong(1);
            kv.putInt(UINT32).putLong(0);
        }, 0, t -> {}), "nests arrays more than");
    }

    @Test
    void anAlignmentThatIsNotAPowerOfTwoIsRefused() {
        for (long alignment : new long[]{0, 3, 1L << 31}) {
            expectRefused(gguf(1, kv -> {
                kv.putLong(17).put("general.alignment".getBytes(StandardCharsets.UTF_8)).putInt(UINT32).putInt((int) alignment);
            }, 0, t -> {}), "general.alignment is");
        }
        expectRefused(gguf(1, kv -> {
            kv.putLong(17).put("general.alignment".getBytes(StandardCharsets.UTF_8)).putInt(STRING).putLong(2).put("32".getBytes(StandardCharsets.UTF_8));
        }, 0, t -> {}), "general.alignment is 32; it must be a power of two");
    }

    @Test
    void aTokenizerJsonWithAHugeTokenIdIsRefused() {
        Path file = FuzzFiles.write(dir, "tokenizer.json", ("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"<unk>\":0,\"a\":2000000000},\"merges\":[]},"
                + "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"▁\"},"
                + "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}]}}").getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> TokenizerJson.read(file)).isInstanceOf(ModelFileException.class)
                .hasMessageContaining("no token has id 1 (ids must be 0..2000000000 without gaps)");
    }

    void expectRefused(byte[] bytes, String message) {
        Path file = FuzzFiles.write(dir, "hostile.gguf", bytes);
        assertThatThrownBy(() -> {
            try (GgufFile ignored = GgufFile.open(file)) {
                // opened: the header was accepted
            }
        }).isInstanceOf(ModelFileException.class).hasMessageContaining(file.toString()).hasMessageContaining(message);
    }

    interface Writes {
        void to(ByteBuffer out);
    }

    /** A GGUF v3 header with these metadata entries and tensor entries, padded to 256 bytes. */
    static byte[] gguf(long kvCount, Writes kvs, long tensorCount, Writes tensors) {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(tensorCount).putLong(kvCount);
        kvs.to(b);
        tensors.to(b);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(b.array(), 0, Math.max(b.position(), 256));
        return out.toByteArray();
    }

    static void tensor(ByteBuffer b, String name, int type, long... shape) {
        b.putLong(name.length()).put(name.getBytes(StandardCharsets.UTF_8)).putInt(shape.length);
        for (long d : shape) b.putLong(d);
        b.putInt(type).putLong(0);
    }
}
