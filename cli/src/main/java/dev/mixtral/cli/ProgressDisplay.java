package dev.mixtral.cli;

import dev.mixtral.model.io.ProgressListener;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.text.DecimalFormat;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * Shows a long step's byte progress: a progress bar (bytes, rate, time left) when stderr is a terminal,
 * and otherwise one log line per tenth of the work and at least every {@link #LINE_INTERVAL_NANOS}, so a
 * redirected or containerised run is not silent for minutes either.
 */
abstract sealed class ProgressDisplay implements ProgressListener, AutoCloseable
        permits ProgressDisplay.Bar, ProgressDisplay.Lines {
    static final long LINE_INTERVAL_NANOS = 15_000_000_000L;

    /** The display for {@code task} on stderr: a bar on a terminal, log lines otherwise. */
    static ProgressDisplay open(String task) {
        var console = System.console();
        boolean terminal = console != null && console.isTerminal();
        return terminal ? new Bar(task, System.err) : new Lines(task, System.err);
    }

    /** Periodic log lines on {@code out}. */
    static ProgressDisplay lines(String task, PrintStream out) {
        return new Lines(task, out);
    }

    @Override
    public abstract void close();

    /** The terminal bar of {@code me.tongfei:progressbar}, in MiB. */
    static final class Bar extends ProgressDisplay {
        private final String task;
        private final PrintStream out;
        private ProgressBar bar;
        private long shown;

        Bar(String task, PrintStream out) {
            this.task = task;
            this.out = out;
        }

        @Override
        public synchronized void progress(long done, long total) {
            if (bar == null) {
                bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                        .setUnit(" MiB", 1 << 20).showSpeed(new DecimalFormat("#,##0.0"))
                        .setSpeedUnit(ChronoUnit.SECONDS).setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                        .setConsumer(new ConsoleProgressBarConsumer(out)).build();
            }
            if (done > shown) { // calls from several threads may arrive out of order
                shown = done;
                bar.stepTo(done);
            }
        }

        @Override
        public synchronized void close() {
            if (bar != null) bar.close();
        }
    }

    /** Log lines: "task: 1.2 GiB of 4.0 GiB (30%), 95.0 MiB/s, 29 s left". */
    static final class Lines extends ProgressDisplay {
        private final String task;
        private final PrintStream out;
        private final long start = System.nanoTime();
        private long shown = -1;
        private long total;
        private int tenthShown = -1;
        private long lastLine;

        Lines(String task, PrintStream out) {
            this.task = task;
            this.out = out;
        }

        @Override
        public synchronized void progress(long done, long total) {
            if (done <= shown) return; // calls from several threads may arrive out of order
            shown = done;
            this.total = total;
            int tenth = total == 0 ? 10 : (int) (10 * done / total);
            long now = System.nanoTime();
            if (tenth > tenthShown || now - lastLine >= LINE_INTERVAL_NANOS) {
                tenthShown = tenth;
                lastLine = now;
                out.println(line(done, total, now));
            }
        }

        private String line(long done, long total, long now) {
            double seconds = Math.max(1e-9, (now - start) / 1e9);
            double rate = done / seconds;
            String left = done == 0 ? "?" : String.format(Locale.ROOT, "%.0f s", (total - done) / rate);
            return String.format(Locale.ROOT, "%s: %s of %s (%d%%), %s/s, %s left", task, bytes(done), bytes(total),
                    total == 0 ? 100 : 100 * done / total, bytes((long) rate), left);
        }

        @Override
        public synchronized void close() {
            if (shown >= 0 && tenthShown < 10) out.println(line(shown, total, System.nanoTime()));
        }
    }

    /** {@code n} bytes in B, KiB, MiB, GiB or TiB, one decimal. */
    static String bytes(long n) {
        if (n < 1024) return n + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n / 1024.0;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
