package dev.mixtral.loadtest;

import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The servers' own account of the run, from their Prometheus metrics: TTFT, inter-token and request latency
 * histograms over the run, queue and KV cache over time, per-node compute, and per-expert token load with
 * its balancedness (mean ÷ max tokens, 1.0 = perfectly even). Knows this project's metric names and vLLM's;
 * metrics a server does not export are left out.
 */
final class ServerView {
    private static final String[] TTFT = {"mixtral_time_to_first_token_seconds", "vllm:time_to_first_token_seconds"};
    private static final String[] ITL = {"mixtral_inter_token_latency_seconds", "vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"};
    private static final String[] E2E = {"mixtral_request_duration_seconds", "vllm:e2e_request_latency_seconds"};
    private static final String[] WAITING = {"mixtral_requests_waiting", "vllm:num_requests_waiting"};
    private static final String[] RUNNING = {"mixtral_requests_running", "vllm:num_requests_running"};
    private static final String[] KV = {"mixtral_kv_cache_usage_ratio", "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"};
    private static final String[] GENERATED = {"mixtral_generation_tokens_total", "vllm:generation_tokens_total"};
    private static final String[] PROMPT = {"mixtral_prompt_tokens_total", "vllm:prompt_tokens_total"};
    private static final String EXPERT_TOKENS = "mixtral_expert_tokens_total";
    private static final String BALANCEDNESS = "mixtral_expert_balancedness";
    private static final String NODE_EXPERT_TOKENS = "mixtral_node_expert_tokens_total";
    private static final String NODE_COMPUTE = "mixtral_node_compute_seconds_total";
    private static final String NODE_QUEUE = "mixtral_node_queue_depth";

    private ServerView() {}

    static Map<String, Object> of(MetricsScraper scraper) {
        // times from the start of the first measured run, the origin of the client's own timeline
        double origin = scraper.spans().isEmpty() ? 0 : scraper.spans().getFirst().startSeconds();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("urls", scraper.urls().stream().map(URI::toString).toList());
        m.put("scrape_failures", scraper.failures());
        List<Map<String, Object>> spans = new ArrayList<>();
        for (MetricsScraper.Span s : scraper.spans()) spans.add(Map.of("name", s.name(), "start_s", s.startSeconds() - origin, "end_s", s.endSeconds() - origin));
        m.put("spans", spans);
        List<Map<String, Object>> endpoints = new ArrayList<>();
        Map<String, Double> nodeTokens = new LinkedHashMap<>();
        for (URI url : scraper.urls()) {
            List<MetricsScraper.Scrape> series = scraper.scrapes().stream().filter(x -> x.url().equals(url)).toList();
            if (series.size() < 2) continue;
            Map<String, Object> e = endpoint(url, series, origin);
            endpoints.add(e);
            if (e.get("node_tokens") instanceof Double t) nodeTokens.put(url.toString(), t);
            if (e.containsKey("expert_load") && !m.containsKey("expert_load")) {
                m.put("expert_load", e.remove("expert_load"));
                m.put("expert_balancedness", e.remove("expert_balancedness"));
            }
        }
        m.put("endpoints", endpoints);
        if (nodeTokens.size() > 1) {
            m.put("node_tokens", nodeTokens);
            m.put("node_balancedness", balancedness(nodeTokens.values().stream().mapToDouble(Double::doubleValue).toArray()));
        }
        return m;
    }

    private static Map<String, Object> endpoint(URI url, List<MetricsScraper.Scrape> series, double origin) {
        MetricsScraper.Scrape first = series.getFirst(), last = series.getLast();
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("url", url.toString());
        boolean node = has(last, NODE_COMPUTE);
        boolean vllm = last.samples().stream().anyMatch(s -> s.name().startsWith("vllm:"));
        boolean coordinator = last.samples().stream().anyMatch(x -> x.name().startsWith("mixtral_") && !x.name().startsWith("mixtral_node_"));
        e.put("kind", node ? "expert-node" : vllm ? "vllm" : coordinator ? "coordinator" : "other");
        e.put("span_s", last.seconds() - first.seconds());
        histogram(e, "ttft", first, last, TTFT);
        histogram(e, "itl", first, last, ITL);
        histogram(e, "e2e", first, last, E2E);
        delta(e, "generation_tokens", first, last, GENERATED);
        delta(e, "prompt_tokens", first, last, PROMPT);
        List<Double> t = series.stream().map(x -> x.seconds() - origin).toList();
        Map<String, Object> ts = new LinkedHashMap<>();
        ts.put("t", t);
        gaugeSeries(e, ts, "requests_waiting", series, WAITING);
        gaugeSeries(e, ts, "requests_running", series, RUNNING);
        gaugeSeries(e, ts, "kv_cache_usage", series, KV);
        gaugeSeries(e, ts, "expert_balancedness_gauge", series, BALANCEDNESS);
        if (node) {
            double compute = sum(last, NODE_COMPUTE) - sum(first, NODE_COMPUTE);
            e.put("compute_seconds", compute);
            e.put("compute_utilization", compute / Math.max(1e-9, last.seconds() - first.seconds()));
            gaugeSeries(e, ts, "node_queue_depth", series, NODE_QUEUE);
            Map<String, Double> perExpert = new TreeMap<>((a, b) -> Integer.compare(parseInt(a), parseInt(b)));
            for (PrometheusText.Sample s : last.samples()) {
                if (s.name().equals(NODE_EXPERT_TOKENS)) perExpert.merge(s.label("expert"), s.value(), Double::sum);
            }
            for (PrometheusText.Sample s : first.samples()) {
                if (s.name().equals(NODE_EXPERT_TOKENS)) perExpert.merge(s.label("expert"), -s.value(), Double::sum);
            }
            e.put("expert_tokens", perExpert);
            e.put("node_tokens", perExpert.values().stream().mapToDouble(Double::doubleValue).sum());
        }
        if (has(last, EXPERT_TOKENS)) {
            double[][] load = expertLoad(first, last);
            Map<String, Object> el = new LinkedHashMap<>();
            el.put("layers", load.length);
            el.put("experts", load.length == 0 ? 0 : load[0].length);
            el.put("tokens", load);
            e.put("expert_load", el);
            e.put("expert_balancedness", meanBalancedness(load));
            List<Double> overTime = new ArrayList<>();
            overTime.add(null);
            for (int i = 1; i < series.size(); i++) {
                double b = meanBalancedness(expertLoad(series.get(i - 1), series.get(i)));
                overTime.add(Double.isNaN(b) ? null : b);
            }
            ts.put("expert_balancedness", overTime);
        }
        e.put("timeseries", ts);
        return e;
    }

    /** Tokens routed to each (layer, expert) between two scrapes. */
    static double[][] expertLoad(MetricsScraper.Scrape from, MetricsScraper.Scrape to) {
        int layers = 0, experts = 0;
        for (PrometheusText.Sample s : to.samples()) {
            if (!s.name().equals(EXPERT_TOKENS)) continue;
            layers = Math.max(layers, parseInt(s.label("layer")) + 1);
            experts = Math.max(experts, parseInt(s.label("expert")) + 1);
        }
        double[][] load = new double[layers][experts];
        add(load, to, 1);
        add(load, from, -1);
        return load;
    }

    private static void add(double[][] load, MetricsScraper.Scrape scrape, int sign) {
        for (PrometheusText.Sample s : scrape.samples()) {
            if (!s.name().equals(EXPERT_TOKENS)) continue;
            int l = parseInt(s.label("layer")), x = parseInt(s.label("expert"));
            if (l >= 0 && l < load.length && x >= 0 && x < load[l].length) load[l][x] += sign * s.value();
        }
    }

    /** Mean over layers of each layer's mean ÷ max tokens per expert; NaN when nothing was routed. */
    static double meanBalancedness(double[][] load) {
        double sum = 0;
        int n = 0;
        for (double[] layer : load) {
            double b = balancedness(layer);
            if (!Double.isNaN(b)) {
                sum += b;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    static double balancedness(double[] tokens) {
        double max = 0, sum = 0;
        for (double t : tokens) {
            max = Math.max(max, t);
            sum += t;
        }
        return max <= 0 ? Double.NaN : sum / tokens.length / max;
    }

    /** A histogram's observations between two scrapes: count, mean, and quantiles interpolated within buckets. */
    private static void histogram(Map<String, Object> e, String key, MetricsScraper.Scrape first, MetricsScraper.Scrape last, String[] names) {
        for (String name : names) {
            TreeMap<Double, Double> buckets = new TreeMap<>();
            for (PrometheusText.Sample s : last.samples()) if (s.name().equals(name + "_bucket")) buckets.merge(le(s), s.value(), Double::sum);
            if (buckets.isEmpty()) continue;
            for (PrometheusText.Sample s : first.samples()) if (s.name().equals(name + "_bucket")) buckets.merge(le(s), -s.value(), Double::sum);
            double count = sum(last, name + "_count") - sum(first, name + "_count");
            double total = sum(last, name + "_sum") - sum(first, name + "_sum");
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("count", count);
            h.put("mean_ms", count > 0 ? total / count * 1e3 : null);
            h.put("p50_ms", quantile(buckets, 0.5) * 1e3);
            h.put("p90_ms", quantile(buckets, 0.9) * 1e3);
            h.put("p99_ms", quantile(buckets, 0.99) * 1e3);
            h.put("metric", name);
            e.put(key, h);
            return;
        }
    }

    /** As PromQL's histogram_quantile: linear within the bucket holding the rank; the last finite bound for +Inf. */
    static double quantile(TreeMap<Double, Double> cumulative, double q) {
        double total = cumulative.lastEntry().getValue();
        if (total <= 0) return Double.NaN;
        double rank = q * total, prevBound = 0, prevCount = 0;
        for (Map.Entry<Double, Double> b : cumulative.entrySet()) {
            if (b.getValue() >= rank) {
                if (Double.isInfinite(b.getKey())) return prevBound;
                double inBucket = b.getValue() - prevCount;
                return inBucket <= 0 ? b.getKey() : prevBound + (b.getKey() - prevBound) * (rank - prevCount) / inBucket;
            }
            prevBound = b.getKey();
            prevCount = b.getValue();
        }
        return prevBound;
    }

    private static void delta(Map<String, Object> e, String key, MetricsScraper.Scrape first, MetricsScraper.Scrape last, String[] names) {
        for (String name : names) {
            if (has(last, name)) {
                e.put(key, sum(last, name) - sum(first, name));
                return;
            }
        }
    }

    private static void gaugeSeries(Map<String, Object> e, Map<String, Object> ts, String key, List<MetricsScraper.Scrape> series, String... names) {
        for (String name : names) {
            if (series.stream().noneMatch(s -> has(s, name))) continue;
            List<Double> values = new ArrayList<>();
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            int n = 0;
            for (MetricsScraper.Scrape s : series) {
                if (!has(s, name)) {
                    values.add(null);
                    continue;
                }
                double v = sum(s, name);
                values.add(v);
                max = Math.max(max, v);
                sum += v;
                n++;
            }
            ts.put(key, values);
            e.put("max_" + key, max);
            e.put("mean_" + key, sum / n);
            return;
        }
    }

    private static boolean has(MetricsScraper.Scrape s, String name) {
        for (PrometheusText.Sample x : s.samples()) if (x.name().equals(name)) return true;
        return false;
    }

    private static double sum(MetricsScraper.Scrape s, String name) {
        double v = 0;
        for (PrometheusText.Sample x : s.samples()) if (x.name().equals(name)) v += x.value();
        return v;
    }

    private static double le(PrometheusText.Sample s) {
        String le = s.label("le");
        return le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
    }

    private static int parseInt(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
