package dev.mixtral.model.io;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * JSON text exactly as Python's {@code json.dumps(obj, indent=2)} writes it (the form of Hugging Face's
 * {@code config.json}): {@code "key": value}, one element per line, floats in Python's {@code repr}
 * ({@code 1e-05}, {@code 1000000.0}), non-ASCII escaped. Maps keep their iteration order.
 */
public final class PythonJson {
    private PythonJson() {}

    /** {@code value}: Map, List, String, Boolean, Integer, Long, BigInteger, Double, Float or null. */
    public static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, int indent) {
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case String s -> string(sb, s);
            case Integer i -> sb.append(i);
            case Long l -> sb.append(l);
            case BigInteger b -> sb.append(b);
            case Double d -> sb.append(pyFloat(d));
            case Float f -> sb.append(pyFloat(f.doubleValue()));
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append("{");
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append(first ? "\n" : ",\n").append("  ".repeat(indent + 1));
                    first = false;
                    string(sb, (String) e.getKey());
                    sb.append(": ");
                    write(sb, e.getValue(), indent + 1);
                }
                sb.append("\n").append("  ".repeat(indent)).append("}");
            }
            case List<?> list -> {
                if (list.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append("[");
                boolean first = true;
                for (Object o : list) {
                    sb.append(first ? "\n" : ",\n").append("  ".repeat(indent + 1));
                    first = false;
                    write(sb, o, indent + 1);
                }
                sb.append("\n").append("  ".repeat(indent)).append("]");
            }
            default -> throw new IllegalArgumentException("cannot write " + v.getClass() + " as JSON");
        }
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
    public static String pyFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros(); // shortest digits (JDK 19+)
        String digits = bd.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - bd.scale(); // decimal exponent of the first digit
        String sign = d < 0 ? "-" : "";
        if (exp < -4 || exp >= 16) {
            String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        String plain = bd.abs().toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
