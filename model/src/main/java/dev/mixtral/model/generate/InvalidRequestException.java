package dev.mixtral.model.generate;

/**
 * A request that can never run as given: the message says why in the caller's terms, and
 * {@link #param()} names the request field at fault (the API answers HTTP 400 / INVALID_ARGUMENT).
 */
public class InvalidRequestException extends IllegalArgumentException {
    private final String param;

    public InvalidRequestException(String param, String message) {
        super(message);
        this.param = param;
    }

    /** The request field at fault ({@code prompt}, {@code max_tokens}, …), or null. */
    public String param() {
        return param;
    }
}
