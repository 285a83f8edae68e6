package dev.mixtral.server.api;

/**
 * An error answered in OpenAI's shape: {@code {"error": {"message", "type", "param", "code"}}} with an
 * HTTP status. The message says what is wrong in the client's terms.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;

    public ApiException(int status, String type, String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
    }

    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, message);
    }

    public int status() { return status; }
    public String type() { return type; }
    public String param() { return param; }
}
