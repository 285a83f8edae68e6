package dev.mixtral.loadtest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --html}: one self-contained file. uPlot (from its webjar on the class path) and the data are inlined,
 * so the report opens offline, from a mail attachment or a CI artifact, and never goes blank for want of a CDN.
 */
final class HtmlReport {
    private static final String UPLOT = "META-INF/resources/webjars/uplot/1.6.30/";

    private HtmlReport() {}

    static void write(Path file, LoadTestCommand.Report report) {
        String html = render(report);
        try {
            ResultFiles.createParent(file);
            Files.writeString(file, html, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static String render(LoadTestCommand.Report report) {
        String data;
        try {
            data = ResultFiles.JSON.writeValueAsString(data(report)).replace("</", "<\\/");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return resource("dev/mixtral/loadtest/report.html")
                .replace("/*UPLOT_LICENSE*/", resource(UPLOT + "LICENSE").replace("*/", "* /"))
                .replace("/*UPLOT_CSS*/", resource(UPLOT + "dist/uPlot.min.css"))
                .replace("/*UPLOT_JS*/", resource(UPLOT + "dist/uPlot.iife.min.js").replace("</script", "<\\/script"))
                .replace("/*DATA*/", data);
    }

    static Map<String, Object> data(LoadTestCommand.Report report) {
        Map<String, Object> d = new LinkedHashMap<>();
        RunSummary first = report.runs().getFirst();
        d.put("generated", Instant.now().toString());
        d.put("url", first.info.url());
        d.put("model", first.info.model());
        d.put("endpoint", first.info.chat() ? "chat" : "completions");
        long origin = first.result.clock();
        List<Map<String, Object>> runs = new ArrayList<>();
        for (RunSummary r : report.runs()) {
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("name", r.result.phase().name());
            run.put("offset_s", (r.result.clock() - origin) / 1e9);
            run.put("offered_rate", nullIfNaN(Sweep.offeredRate(r)));
            run.put("summary", r.toMap());
            Map<String, Object> cdf = new LinkedHashMap<>();
            cdf.put("ttft", r.ttft.cdf(200));
            cdf.put("tpot", r.tpot.cdf(200));
            cdf.put("itl", r.itl.cdf(200));
            cdf.put("e2el", r.e2el.cdf(200));
            cdf.put("ttft_from_intended", r.ttftFromIntended.cdf(200));
            cdf.put("e2el_from_intended", r.e2elFromIntended.cdf(200));
            run.put("cdf", cdf);
            Timeline t = r.timeline;
            Map<String, Object> tl = new LinkedHashMap<>();
            tl.put("bin_s", t.binSeconds());
            tl.put("t", t.startSeconds());
            tl.put("sent", t.sentPerSecond());
            tl.put("completed", t.completedPerSecond());
            tl.put("failed", t.failedPerSecond());
            tl.put("in_flight", t.inFlight());
            tl.put("tokens", t.outputTokensPerSecond());
            run.put("timeline", tl);
            runs.add(run);
        }
        d.put("runs", runs);
        d.put("sweep", report.sweep() == null ? null : report.sweep().toMap(first.info.slo()).entrySet().stream()
                .filter(e -> !e.getKey().equals("benchmarks")).collect(LinkedHashMap::new, (m, e) -> m.put(e.getKey(), e.getValue()), Map::putAll));
        d.put("server", report.server());
        return d;
    }

    private static Double nullIfNaN(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static String resource(String name) {
        try (InputStream in = HtmlReport.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource " + name + " (is the uplot webjar on the class path?)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
