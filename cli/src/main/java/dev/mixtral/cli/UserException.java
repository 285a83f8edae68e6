package dev.mixtral.cli;

/** A mistake the user can fix (bad flag value, missing file): printed as one line, never a stack trace. */
public class UserException extends RuntimeException {
    public UserException(String message) {
        super(message);
    }
}
