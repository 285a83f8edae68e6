package dev.mixtral.loadtest;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live line on stderr: requests done and in flight, failures, output tokens/s and p50 TTFT over the last
 * interval. A terminal gets one line rewritten in place; a pipe or log gets a line every few seconds.
 */
final class ProgressLine implements LoadRunner.Listener, AutoCloseable {
    private final PrintStream out;
    private final String label;
    private final int total;
    private final boolean terminal;
    private final AtomicInteger started = new AtomicInteger();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final AtomicLong tokens = new AtomicLong();
    private final Recorder ttft = new Recorder(3);
    private final long begin = System.nanoTime();
    private final Thread printer;
    private Histogram interval;
    private long lastTokens;
    private long lastPrint = begin;

    ProgressLine(PrintStream out, String label, int total) {
        this.out = out;
        this.label = label;
        this.total = total;
        this.terminal = System.console() != null;
        long everyMs = terminal ? 1000 : 5000;
        this.printer = Thread.ofPlatform().daemon().name("loadtest-progress").start(() -> {
            try {
                while (true) {
                    Thread.sleep(everyMs);
                    print(false);
                }
            } catch (InterruptedException stop) {
                // closed
            }
        });
    }

    @Override
    public void started() {
        started.incrementAndGet();
    }

    @Override
    public void finished(RequestRecord r) {
        done.incrementAndGet();
        if (!r.ok()) {
            failed.incrementAndGet();
            return;
        }
        tokens.addAndGet(r.outputTokens());
        ttft.recordValue(Math.max(0, r.ttftNanos()));
    }

    private synchronized void print(boolean last) {
        long now = System.nanoTime();
        interval = ttft.getIntervalHistogram(interval);
        long t = tokens.get();
        double tokPerS = (t - lastTokens) / Math.max(1e-9, (now - lastPrint) / 1e9);
        lastTokens = t;
        lastPrint = now;
        int d = done.get();
        String line = String.format("[loadtest] %s %6.1fs  done %d%s  in flight %d  failed %d  %.0f tok/s  p50 TTFT %s",
                label, (now - begin) / 1e9, d, total > 0 && total < Integer.MAX_VALUE ? "/" + total : "", started.get() - d,
                failed.get(), tokPerS, interval.getTotalCount() == 0 ? "-" : String.format("%.1f ms", interval.getValueAtPercentile(50) / 1e6));
        if (terminal) out.print("\r" + line + (last ? "\n" : ""));
        else out.println(line);
        out.flush();
    }

    @Override
    public void close() {
        printer.interrupt();
        try {
            printer.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (done.get() > 0) print(true);
    }
}
