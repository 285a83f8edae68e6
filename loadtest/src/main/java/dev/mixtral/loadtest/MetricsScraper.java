package dev.mixtral.loadtest;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Scrapes the servers' Prometheus endpoints before the load, every interval during it, and after it. A
 * scrape that fails is recorded as missing, never fails the run: the client's figures stand on their own.
 */
final class MetricsScraper implements AutoCloseable {
    record Scrape(URI url, double seconds, List<PrometheusText.Sample> samples) {}

    /** A named span of the run (a sweep step) on the scraper's clock. */
    record Span(String name, double startSeconds, double endSeconds) {}

    private final List<URI> urls;
    private final Duration interval;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Scrape> scrapes = new CopyOnWriteArrayList<>();
    private final List<Span> spans = new CopyOnWriteArrayList<>();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private final long origin = System.nanoTime();
    private Thread thread;

    MetricsScraper(List<URI> urls, Duration interval) {
        this.urls = List.copyOf(urls);
        this.interval = interval;
    }

    /** The "before" scrape, then one every interval on a background thread. */
    MetricsScraper start() {
        scrapeAll();
        thread = Thread.ofPlatform().daemon().name("loadtest-metrics").start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(interval.toMillis());
                    scrapeAll();
                }
            } catch (InterruptedException stop) {
                // the "after" scrape is taken by stop()
            }
        });
        return this;
    }

    double now() {
        return (System.nanoTime() - origin) / 1e9;
    }

    void span(String name, double start, double end) {
        spans.add(new Span(name, start, end));
    }

    /** Stops the background scrapes and takes the "after" scrape. */
    void stop() {
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            thread = null;
        }
        scrapeAll();
    }

    private void scrapeAll() {
        for (URI url : urls) {
            double t = now();
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    failures.add(url + ": HTTP " + r.statusCode());
                    continue;
                }
                scrapes.add(new Scrape(url, t, PrometheusText.parse(r.body())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                failures.add(url + ": " + e);
            }
        }
    }

    List<Scrape> scrapes() {
        return new ArrayList<>(scrapes);
    }

    List<Span> spans() {
        return List.copyOf(spans);
    }

    List<String> failures() {
        return List.copyOf(failures);
    }

    List<URI> urls() {
        return urls;
    }

    @Override
    public void close() {
        if (thread != null) thread.interrupt();
        http.close();
    }
}
