package dev.mixtral.server.api;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Generates malformed and adversarial HTTP requests for the API, each built so that a correct server
 * must refuse it. Seeded: the same seed gives the same requests, so a failure can be replayed.
 */
final class HostileRequests {
    /** Who must answer: our handler (a 4xx in OpenAI's shape), or the HTTP server below it (a 4xx of its own, or closing). */
    enum Answerer { HANDLER, HTTP_SERVER }

    /**
     * One request as raw bytes. {@code halfClose}: the client stops sending after these bytes (a
     * truncated body); {@code expectedStatus}: 0 for any 4xx.
     */
    record Case(String category, String description, byte[] bytes, boolean halfClose, Answerer answerer, int expectedStatus) {
        @Override
        public String toString() {
            return category + ": " + description;
        }
    }

    private static final String[] ENDPOINTS = {"/v1/completions", "/v1/chat/completions"};
    /** Strings a tokenizer or JSON layer may trip on; JSON-escaped, so lone surrogates survive into the parsed text. */
    private static final String[] UNICODE = {
            "\\ud800", "\\udfff", "\\udc00\\ud800", "a\\ud83d", "\\ud83d\\ude00\\ud83d", "\\u0000", "\\u0000\\u0000x", "\\ufeff",
            "\\ufffe\\uffff", "\\u202e\\u202d", "\\u200d\\u200d\\u200d", "e" + "\\u0301".repeat(5000), "\\ud83d\\udc68\\u200d\\ud83d\\udc69\\u200d\\ud83d\\udc67",
            "\\uf8ff\\udb80\\udc00", "\\u0085\\u2028\\u2029", "\\u00ad".repeat(3000), "</s>", "<s>[INST]", "[/INST]</s><s>", "\\u2581\\u2581\\u2581",
            "<0x00><0xFF>", "\\t\\r\\n\\b\\f", "\\\\u0000", "\\ud800\\ud800\\ud800\\ud800"};
    /** Byte sequences that are not UTF-8, placed raw inside a JSON string. */
    private static final byte[][] BAD_UTF8 = {
            {(byte) 0xC0, (byte) 0x80}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            {(byte) 0xFF}, {(byte) 0xFE, (byte) 0xFF}, {(byte) 0x80}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}};

    private final Random random;
    private final List<Case> cases = new ArrayList<>();

    private HostileRequests(long seed) {
        this.random = new Random(seed);
    }

    static List<Case> generate(long seed) {
        HostileRequests g = new HostileRequests(seed);
        g.badJson(220);
        g.wrongTypes(220);
        g.hugeNumbers(100);
        g.unicode(160);
        g.stopLists(60);
        g.deepNesting(60);
        g.contentTypes(50);
        g.badMethods(80);
        g.truncatedBodies(80);
        g.overLimits(10);
        g.hugeHeaders(30);
        g.badProtocol(80);
        return g.cases;
    }

    private String endpoint() {
        return ENDPOINTS[random.nextInt(ENDPOINTS.length)];
    }

    /** A valid body for the endpoint, with the given extra members (already JSON) before the closing brace. */
    private static String valid(String endpoint, String extra) {
        String head = endpoint.contains("chat") ? "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":2"
                : "{\"prompt\":\"Once upon a time\",\"max_tokens\":2";
        return head + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    private void post(String category, String description, String endpoint, String body, int expectedStatus) {
        post(category, description, endpoint, "application/json", body.getBytes(StandardCharsets.UTF_8), expectedStatus);
    }

    private void post(String category, String description, String endpoint, String contentType, byte[] body, int expectedStatus) {
        cases.add(new Case(category, description, request("POST", endpoint, "Content-Type: " + contentType + "\r\nContent-Length: " + body.length + "\r\n", body),
                false, Answerer.HANDLER, expectedStatus));
    }

    static byte[] request(String method, String path, String headers, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes((method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(body);
        return out.toByteArray();
    }

    private void badJson(int n) {
        String[] broken = {"", " ", "\n\t ", "null", "[]", "[1,2]", "\"prompt\"", "42", "true", "{", "}", "{{}}", "{\"prompt\"}", "{\"prompt\":}",
                "{prompt:\"x\"}", "{'prompt':'x'}", "{\"prompt\":\"x\",}", "{\"prompt\":\"x\" \"max_tokens\":1}", "{\"prompt\":NaN}",
                "{\"prompt\":\"x\",\"temperature\":NaN}", "{\"prompt\":\"x\",\"temperature\":Infinity}", "{\"prompt\":\"x\",\"max_tokens\":01}",
                "/* c */{\"prompt\":\"x\"}", "{\"prompt\":\"x\"}{\"prompt\":\"y\"}", "{\"prompt\":\"x\"} trailing", "{\"prompt\":\"x\",\"prompt\":\"y\"}",
                "{\"prompt\":\"\\x41\"}", "{\"prompt\":\"\\u12\"}", "{\"prompt\":\"unterminated}", "{\"prompt\":\"a\u0001b\"}", "\u0000",
                "{\"max_tokens\":1,\"max_tokens\":2,\"prompt\":\"x\"}", "[{\"prompt\":\"x\"}]", "{\"prompt\":\"x\"]", "{\"\":\"\"}"};
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            if (i < broken.length * 2) {
                String b = broken[i % broken.length];
                post("bad-json", "'" + b + "'", ep, b, 0);
            } else {
                String v = valid(ep, "\"temperature\":0");
                int cut = random.nextInt(v.length() - 1); // any proper prefix of an object is incomplete
                post("bad-json", "truncated at " + cut, ep, v.substring(0, cut), 0);
            }
        }
    }

    /** Per field: values of the wrong type or out of range, each of which must be refused. */
    private static final Map<String, String[]> REFUSED = Map.ofEntries(
            Map.entry("model", new String[]{"{}", "[]", "true", "1.5", "0", "{\"a\":1}", "[\"tiny\"]", "\"gpt-4\"", "\"\"", "\"TINY\""}),
            Map.entry("max_tokens", new String[]{"{}", "[]", "\"x\"", "\"1\"", "true", "1.5", "-1", "0", "[1]", "2.0e0"}),
            Map.entry("temperature", new String[]{"{}", "[]", "\"x\"", "\"1\"", "true", "-1", "2.5", "-0.001", "[0]"}),
            Map.entry("top_p", new String[]{"{}", "[]", "\"x\"", "true", "0", "-1", "1.5", "0.0", "[1]"}),
            Map.entry("top_k", new String[]{"{}", "[]", "\"x\"", "true", "1.5", "-2", "\"5\""}),
            Map.entry("seed", new String[]{"{}", "[]", "\"x\"", "true", "1.5", "\"42\""}),
            Map.entry("n", new String[]{"{}", "[]", "\"x\"", "true", "1.5", "0", "2", "-1"}),
            Map.entry("stream", new String[]{"{}", "[]", "\"x\"", "1", "0", "\"true\""}),
            Map.entry("stop", new String[]{"{}", "1", "true", "[1]", "[null]", "[[]]", "[{}]", "[\"a\",\"b\",\"c\",\"d\",\"e\"]"}));
    private static final String[] REFUSED_PROMPTS = {"{}", "[]", "[[]]", "true", "false", "1.5", "-1", "0", "{\"a\":1}", "[1,\"a\"]",
            "[null]", "[\"a\",\"b\"]", "[-1]", "[99999999]", "[1.5]", "null"};
    private static final String[] REFUSED_MESSAGES = {"{}", "\"x\"", "[]", "[1]", "[null]", "[{}]", "null", "[{\"role\":1,\"content\":\"x\"}]",
            "[{\"role\":\"user\"}]", "[{\"role\":\"user\",\"content\":1}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]",
            "[{\"role\":\"tool\",\"content\":\"x\"}]", "[{\"role\":\"assistant\",\"content\":\"x\"}]",
            "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]",
            "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"system\",\"content\":\"b\"}]"};
    private static final List<String> FIELDS = List.copyOf(new java.util.TreeSet<>(REFUSED.keySet()));

    private void wrongTypes(int n) {
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            boolean chat = ep.contains("chat");
            if (random.nextInt(5) == 0) {
                if (chat) {
                    String m = pick(REFUSED_MESSAGES);
                    post("wrong-type", "messages=" + m, ep, "{\"messages\":" + m + ",\"max_tokens\":2}", 400);
                } else {
                    String p = pick(REFUSED_PROMPTS);
                    post("wrong-type", "prompt=" + p, ep, "{\"prompt\":" + p + ",\"max_tokens\":2}", 400);
                }
                continue;
            }
            String field = FIELDS.get(random.nextInt(FIELDS.size()));
            String value = pick(REFUSED.get(field));
            post("wrong-type", field + "=" + value, ep, withField(ep, field, value), 400);
        }
    }

    /** A valid body with one field set (replacing the default max_tokens when that is the field). */
    private static String withField(String ep, String field, String value) {
        return valid(ep, "\"" + field + "\":" + value).replace("\"max_tokens\":2,\"max_tokens\"", "\"max_tokens\"");
    }

    private String pick(String[] values) {
        return values[random.nextInt(values.length)];
    }

    private void hugeNumbers(int n) {
        String longInt = "1" + "0".repeat(1200), longFraction = "0." + "0".repeat(1200) + "1";
        Map<String, String[]> numbers = Map.of(
                "max_tokens", new String[]{"1e308", "99999999999999999999999999", "2147483648", "2147483647", "-99999999999999999999", "1e2147483647", longInt},
                "temperature", new String[]{"1e308", "1e309", "-1e309", "99999999999999999999999999", longInt, "1E+2147483648"},
                "top_p", new String[]{"1e308", "1e309", "-1e309", "2147483648", longInt, longFraction},
                "top_k", new String[]{"2147483648", "1e308", "99999999999999999999", "-2147483649", "9223372036854775808"},
                "seed", new String[]{"9223372036854775808", "18446744073709551616", "1e308", "-99999999999999999999", longInt},
                "n", new String[]{"2147483648", "1e308", "2147483647", "-2147483649"});
        List<String> fields = List.copyOf(new java.util.TreeSet<>(numbers.keySet()));
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            String field = fields.get(random.nextInt(fields.size()));
            String num = pick(numbers.get(field));
            post("huge-number", field + "=" + (num.length() > 30 ? num.substring(0, 30) + "…" : num), ep, withField(ep, field, num), 400);
        }
    }

    private void unicode(int n) {
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            boolean chat = ep.contains("chat");
            String u = UNICODE[random.nextInt(UNICODE.length)] + UNICODE[random.nextInt(UNICODE.length)];
            switch (random.nextInt(6)) {
                // tokenized, then refused: the prompt plus max_tokens is over the context
                case 0, 1 -> post("unicode", "text " + u.substring(0, Math.min(20, u.length())), ep, chat
                        ? "{\"messages\":[{\"role\":\"user\",\"content\":\"" + u + "\"}],\"max_tokens\":100000}"
                        : "{\"prompt\":\"" + u + "\",\"max_tokens\":100000}", 400);
                case 2 -> post("unicode", "model name", ep, valid(ep, "\"model\":\"" + u + "\""), 400);
                case 3 -> post("unicode", "stop", ep, valid(ep, "\"stop\":[\"" + u + "\",\"a\",\"b\",\"c\",\"d\"]"), 400);
                case 4 -> post("unicode", "role", ENDPOINTS[1], "{\"messages\":[{\"role\":\"" + u + "\",\"content\":\"hi\"}]}", 400);
                default -> {
                    byte[] bad = BAD_UTF8[random.nextInt(BAD_UTF8.length)];
                    ByteArrayOutputStream body = new ByteArrayOutputStream();
                    body.writeBytes((chat ? "{\"messages\":[{\"role\":\"user\",\"content\":\"a" : "{\"prompt\":\"a").getBytes(StandardCharsets.UTF_8));
                    body.writeBytes(bad);
                    body.writeBytes((chat ? "b\"}],\"max_tokens\":2}" : "b\",\"max_tokens\":2}").getBytes(StandardCharsets.UTF_8));
                    post("unicode", "raw bytes not UTF-8", ep, "application/json", body.toByteArray(), 400);
                }
            }
        }
    }

    private void stopLists(int n) {
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            int count = 5 + random.nextInt(5000);
            StringBuilder stop = new StringBuilder("[");
            for (int k = 0; k < count; k++) stop.append(k == 0 ? "" : ",").append("\"s").append(k).append('"');
            String value = switch (i % 4) {
                case 0 -> stop.append(']').toString();
                case 1 -> "[[\"a\"],[\"b\"]]";
                case 2 -> "[\"a\",1,true]";
                default -> "[\"" + "x".repeat(1 + random.nextInt(100_000)) + "\"],\"max_tokens\":100000";
            };
            post("stop-list", "stop " + (value.length() > 40 ? value.substring(0, 40) + "…" : value), ep,
                    withField(ep, "stop", value).replace("\"max_tokens\":2,\"stop\"", "\"stop\""), 400);
        }
    }

    private void deepNesting(int n) {
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            int depth = 400 + random.nextInt(100_000);
            boolean arrays = random.nextBoolean();
            String nested = arrays ? "[".repeat(depth) + "]".repeat(depth) : "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
            String body = switch (i % 3) {
                case 0 -> nested;
                case 1 -> ep.contains("chat") ? "{\"messages\":" + nested + "}" : "{\"prompt\":" + nested + "}";
                default -> valid(ep, "\"stop\":" + nested);
            };
            post("deep-nesting", (arrays ? "arrays" : "objects") + " depth " + depth, ep, body, 400);
        }
    }

    private void contentTypes(int n) {
        String[][] bodies = {
                {"application/x-www-form-urlencoded", "prompt=Once+upon&max_tokens=2"},
                {"multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nOnce\r\n--xyz--\r\n"},
                {"text/xml", "<request><prompt>Once</prompt></request>"},
                {"text/plain", "Once upon a time"},
                {"application/octet-stream", "\u0001\u0002\u0003binary"},
                {"application/yaml", "prompt: Once upon\nmax_tokens: 2\n"},
                {"", "prompt=x"},
                {"application/json; charset=utf-16", "\u0000{\u0000\"\u0000p"}};
        for (int i = 0; i < n; i++) {
            String[] b = bodies[i % bodies.length];
            post("content-type", "'" + b[0] + "'", endpoint(), b[0], b[1].getBytes(StandardCharsets.ISO_8859_1), 400);
        }
    }

    private void badMethods(int n) {
        String[] methods = {"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "get", "post", "PROPFIND", "M-SEARCH"};
        String[] paths = {"/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/ready", "/metrics"};
        for (int i = 0; i < n; i++) {
            String method = methods[random.nextInt(methods.length)];
            String path = paths[random.nextInt(paths.length)];
            if (method.equals("post") && path.startsWith("/v1/") && !path.equals("/v1/models")) method = "PUT";
            if (method.equals("get") && (path.equals("/v1/models") || !path.startsWith("/v1/"))) method = "DELETE";
            byte[] body = valid(path, "").getBytes(StandardCharsets.UTF_8);
            cases.add(new Case("bad-method", method + " " + path, request(method, path, "Content-Length: " + body.length + "\r\n", body),
                    false, Answerer.HANDLER, 405));
        }
        // HEAD: the answer has no body to hold an error, so only its status can be checked
        cases.add(new Case("bad-method", "HEAD /v1/completions", request("HEAD", "/v1/completions", "", new byte[0]), false, Answerer.HTTP_SERVER, 405));
    }

    private void truncatedBodies(int n) {
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            byte[] full = valid(ep, "\"temperature\":0").getBytes(StandardCharsets.UTF_8);
            int sent = random.nextInt(full.length);
            byte[] partial = java.util.Arrays.copyOf(full, sent);
            if (i % 4 == 3) { // chunked with a broken or short chunk
                String chunks = switch (random.nextInt(3)) {
                    case 0 -> "zz\r\n" + new String(partial, StandardCharsets.ISO_8859_1);
                    case 1 -> "FFFFFFFFFFFF\r\n" + new String(partial, StandardCharsets.ISO_8859_1);
                    default -> Integer.toHexString(full.length) + "\r\n" + new String(partial, StandardCharsets.ISO_8859_1);
                };
                cases.add(new Case("truncated-body", "chunked " + chunks.substring(0, Math.min(16, chunks.length())).strip(),
                        request("POST", ep, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", chunks.getBytes(StandardCharsets.ISO_8859_1)),
                        true, Answerer.HANDLER, 400));
            } else {
                cases.add(new Case("truncated-body", sent + " of " + full.length + " bytes",
                        request("POST", ep, "Content-Type: application/json\r\nContent-Length: " + full.length + "\r\n", partial),
                        true, Answerer.HANDLER, 400));
            }
        }
    }

    private void overLimits(int n) {
        for (int i = 0; i < n; i++) {
            String ep = endpoint();
            if (i % 2 == 0) {
                long declared = (long) RequestLimits.DEFAULTS.maxBodyBytes() + 1 + random.nextInt(Integer.MAX_VALUE);
                cases.add(new Case("over-limit", "Content-Length " + declared, request("POST", ep,
                        "Content-Type: application/json\r\nContent-Length: " + declared + "\r\n", "{\"prompt\":".getBytes(StandardCharsets.UTF_8)),
                        true, Answerer.HANDLER, 413));
            } else {
                int size = RequestLimits.DEFAULTS.maxBodyBytes() + 1 + random.nextInt(1 << 20);
                String body = "{\"prompt\":\"" + "a".repeat(size) + "\"}";
                cases.add(new Case("over-limit", "chunked body of " + size + " bytes", request("POST", ep,
                        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                        (Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)),
                        false, Answerer.HANDLER, 413));
            }
        }
    }

    private void hugeHeaders(int n) {
        for (int i = 0; i < n; i++) {
            String headers = switch (i % 3) {
                case 0 -> "X-Big: " + "a".repeat(70_000 + random.nextInt(200_000)) + "\r\n";
                case 1 -> manyHeaders(201 + random.nextInt(2000));
                default -> ("Cookie: " + "c=" + "b".repeat(1000) + "\r\n").repeat(70 + random.nextInt(100));
            };
            cases.add(new Case("huge-headers", headers.substring(0, 12).strip() + " (" + headers.length() + " bytes)",
                    request("GET", "/v1/models", headers, new byte[0]), false, Answerer.HTTP_SERVER, 0));
        }
    }

    private void badProtocol(int n) {
        List<Consumer<Integer>> kinds = List.of(
                i -> raw("garbage request line", ("GARBAGE" + i + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("no version", "GET /v1/models\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("bad percent-encoding", ("GET /v1/%zz%" + i + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("bad header name", "GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\u0001: y\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("Content-Length not a number", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}".getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("negative Content-Length", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}".getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("two Content-Lengths", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("Content-Length and chunked", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}".getBytes(StandardCharsets.ISO_8859_1)),
                i -> raw("binary", randomBytes(1 + random.nextInt(2000))),
                i -> raw("huge request line", ("GET /v1/models?" + "q".repeat(100_000 + random.nextInt(400_000)) + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
        for (int i = 0; i < n; i++) kinds.get(i % kinds.size()).accept(i);
        // a path the handler sees: an unknown endpoint is 404 in OpenAI's shape
        for (String path : new String[]{"/v1/../etc/passwd", "/v1/completions/", "/v1/%00", "/" + "x".repeat(5000), "/v2/completions", "/v1"}) {
            cases.add(new Case("bad-path", path.length() > 30 ? path.substring(0, 30) + "…" : path, request("GET", path, "", new byte[0]), false, Answerer.HANDLER, 404));
        }
    }

    private void raw(String description, byte[] bytes) {
        cases.add(new Case("bad-protocol", description, bytes, true, Answerer.HTTP_SERVER, 0));
    }

    /** More distinct header names than the server takes (repeats of one name count once). */
    private static String manyHeaders(int count) {
        StringBuilder h = new StringBuilder();
        for (int i = 0; i < count; i++) h.append("X-Many-").append(i).append(": 1\r\n");
        return h.toString();
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }
}
