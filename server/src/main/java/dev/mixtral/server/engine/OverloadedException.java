package dev.mixtral.server.engine;

/** The engine's queue is full (HTTP 429): retry later. */
public class OverloadedException extends RuntimeException {
    public OverloadedException(String message) {
        super(message);
    }
}
