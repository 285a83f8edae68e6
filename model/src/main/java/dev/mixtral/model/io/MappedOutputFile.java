package dev.mixtral.model.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * An output file written as header bytes followed by a memory-mapped data region that many threads
 * fill concurrently. It is written as {@code name.part} beside the target and moved into place by
 * {@link #finish()}; {@link #close()} without finishing deletes it, so a failed write never leaves a
 * complete-looking file behind.
 */
public final class MappedOutputFile implements AutoCloseable {
    private final Path path;
    private final Path partial;
    private FileChannel channel;
    private Arena arena;
    private final MemorySegment data;
    private boolean finished;

    /**
     * Creates {@code path.part}, writes {@code header} at offset 0 followed by zeros up to
     * {@code dataOffset}, and maps {@code dataSize} bytes from {@code dataOffset} read-write (the file
     * grows, sparsely, to {@code dataOffset + dataSize}).
     */
    public MappedOutputFile(Path path, byte[] header, long dataOffset, long dataSize) {
        if (dataOffset < header.length) throw new IllegalArgumentException("data region overlaps the header");
        this.path = path;
        this.partial = path.resolveSibling(path.getFileName() + ".part");
        try {
            Files.deleteIfExists(partial);
            channel = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(dataOffset));
            buf.put(header).position(0);
            while (buf.hasRemaining()) channel.write(buf, buf.position());
            arena = Arena.ofShared();
            data = dataSize == 0 ? MemorySegment.ofArray(new byte[0])
                    : channel.map(FileChannel.MapMode.READ_WRITE, dataOffset, dataSize, arena);
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot write " + partial + ": " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    /** The writable data region; valid from any thread until {@link #finish()} or {@link #close()}. */
    public MemorySegment data() {
        if (arena == null) throw new IllegalStateException(path + " is no longer open for writing");
        return data;
    }

    /** Unmaps, closes and renames the file to its final name. */
    public void finish() {
        if (finished) return;
        try {
            arena.close();
            arena = null;
            channel.close();
            channel = null;
            Files.move(partial, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            finished = true;
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot finish " + path + ": " + e.getMessage(), e);
        }
    }

    public boolean finished() {
        return finished;
    }

    /** Releases everything; deletes the partial file unless {@link #finish()} succeeded. */
    @Override
    public void close() {
        if (finished) return;
        if (arena != null) {
            arena.close();
            arena = null;
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // deleted below anyway
            }
            channel = null;
        }
        try {
            Files.deleteIfExists(partial);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
