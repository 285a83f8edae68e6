package dev.mixtral.helm;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The metric families a Grafana dashboard's queries read. */
final class Dashboard {
    private static final Pattern METRIC = Pattern.compile("\\bmixtral_[a-z0-9_]+");

    private Dashboard() {}

    /** Family names: histogram series ({@code _bucket}, {@code _count}, {@code _sum}) count as their histogram. */
    static Set<String> metricNames(JsonNode dashboard) {
        Set<String> names = new TreeSet<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                Matcher m = METRIC.matcher(target.path("expr").asText());
                while (m.find()) names.add(m.group().replaceFirst("_(bucket|count|sum)$", ""));
            }
        }
        return names;
    }
}
