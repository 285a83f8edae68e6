package dev.mixtral.server.api;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** A strict reader of the Prometheus text exposition format (0.0.4), enough to validate /metrics. */
record PrometheusText(Map<String, Double> samples, Set<String> names) {
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)( [0-9]+)?");
    private static final Pattern LABELS = Pattern.compile("\\{([a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\")*,?)?\\}");

    static PrometheusText parse(String text) {
        Map<String, Double> samples = new LinkedHashMap<>();
        Set<String> names = new TreeSet<>();
        Set<String> typed = new TreeSet<>(), helped = new TreeSet<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) continue;
            if (line.startsWith("# HELP ")) { helped.add(line.split(" ")[2]); continue; }
            if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                assertThat(p[3]).as(line).isIn("counter", "gauge", "histogram", "summary", "untyped", "info", "stateset", "gaugehistogram", "unknown");
                typed.add(p[2]);
                continue;
            }
            if (line.startsWith("#")) continue;
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("not a valid sample line: %s", line).isTrue();
            if (m.group(2) != null) assertThat(LABELS.matcher(m.group(2)).matches()).as("bad labels: %s", line).isTrue();
            names.add(m.group(1));
            samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3).replace("+Inf", "Infinity").replace("-Inf", "-Infinity")));
            String family = m.group(1).replaceAll("_(bucket|count|sum|total|created)$", "");
            assertThat(typed.contains(m.group(1)) || typed.contains(family)).as("sample without # TYPE: %s", line).isTrue();
            assertThat(helped.contains(m.group(1)) || helped.contains(family)).as("sample without # HELP: %s", line).isTrue();
        }
        return new PrometheusText(samples, names);
    }

    double value(String series) {
        Double v = samples.get(series);
        assertThat(v).as("series %s in /metrics", series).isNotNull();
        return v;
    }

    double sumOf(String name) {
        return samples.entrySet().stream().filter(e -> e.getKey().startsWith(name + "{") || e.getKey().equals(name))
                .mapToDouble(Map.Entry::getValue).sum();
    }
}
