package dev.mixtral.loadtest;

/** Why a request failed; failures are counted by kind and never stop the run. */
enum ErrorKind {
    /** The server answered 4xx (bad request, unauthorized, 429 too many requests, ...). */
    HTTP_4XX,
    /** The server answered 5xx. */
    HTTP_5XX,
    /** Any other non-200 status. */
    HTTP_OTHER,
    /** No connection could be made. */
    CONNECT,
    /** The connection closed before the stream finished. */
    DROPPED,
    /** No complete response within --timeout. */
    TIMEOUT,
    /** A stream event that is not valid JSON. */
    BAD_JSON,
    /** The server sent an error object inside the stream. */
    STREAM_ERROR,
    /** The stream finished without any content. */
    NO_OUTPUT;

    String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
