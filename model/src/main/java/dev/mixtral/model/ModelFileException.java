package dev.mixtral.model;

import java.nio.file.Path;

/**
 * A model file (or checkpoint directory) that cannot be used: truncated, corrupt, unsupported or
 * incomplete. The message always names the file and, where one is involved, the tensor; it is
 * written for the user and printed as is by the CLI and the servers.
 */
public class ModelFileException extends RuntimeException {
    public ModelFileException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public ModelFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
