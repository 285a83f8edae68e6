package dev.mixtral.model.io;

/**
 * Told how far a long step (writing a model file, paging one in) has come, in bytes. The model module
 * only reports; how progress is shown (a bar on a terminal, log lines otherwise) is the caller's
 * business. Calls may come from several threads at once, so they can arrive slightly out of order: the
 * largest {@code done} heard so far is the current state.
 */
@FunctionalInterface
public interface ProgressListener {
    /** Listens to nothing. */
    ProgressListener NONE = (done, total) -> {};

    /** {@code done} of {@code total} bytes are finished. */
    void progress(long done, long total);
}
