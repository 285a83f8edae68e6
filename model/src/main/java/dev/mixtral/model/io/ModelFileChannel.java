package dev.mixtral.model.io;

import dev.mixtral.model.ModelFileException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Function;

/** Opens a model file read-only and parses it, closing the channel if parsing fails; errors name the file. */
public final class ModelFileChannel {
    private ModelFileChannel() {}

    public static <T> T openAndParse(Path path, Function<FileChannel, T> parse) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelFileException(path, "no such file");
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot open: " + e.getMessage(), e);
        }
        try {
            return parse.apply(channel);
        } catch (RuntimeException e) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the parse error is the one to report
            }
            throw e;
        }
    }
}
