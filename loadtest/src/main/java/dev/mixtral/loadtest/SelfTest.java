package dev.mixtral.loadtest;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code loadtest --self-test}: how well the load tester keeps its own schedule, and what it costs. A mock
 * server runs in a separate JVM (so its CPU is not counted as the client's); the client offers 10, 100 and
 * 1000 requests/s at constant spacing and reports achieved ÷ requested rate, schedule lag and its own CPU
 * time per request.
 */
final class SelfTest {
    private SelfTest() {}

    static int run(double[] rates, double seconds, PrintStream out) throws Exception {
        Process mock = startMock();
        try {
            String url = new BufferedReader(new InputStreamReader(mock.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (url == null || !url.startsWith("http://127.0.0.1:")) throw new IllegalStateException("the mock server did not start: " + url);
            int cores = Runtime.getRuntime().availableProcessors();
            double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            out.printf(Locale.ROOT, "loadtest self-test: mock server (separate JVM) at %s, TTFT 5 ms, 8 tokens 2 ms apart; %d CPUs here, load average %.1f%n",
                    url, cores, load);
            if (load > cores) out.println("NOTE: the machine is busier than its CPUs: lag measured now is mostly other processes' doing");
            out.printf("%10s %9s %10s %10s %11s %11s %11s %13s %11s %6s%n", "requested", "requests", "scheduled", "achieved", "achieved/req",
                    "p50 lag ms", "p99 lag ms", "CPU ms/request", "CPU % core", "valid");
            List<RunSummary> all = new ArrayList<>();
            StreamingClient.Target target = new StreamingClient.Target(URI.create(url), false, "mock-model", null, 0, false, Duration.ofSeconds(30));
            try (StreamingClient client = new StreamingClient(target)) {
                LoadRunner runner = new LoadRunner(client);
                Workload workload = Workload.synthetic(LengthDistribution.parse("32", "--input-len"), LengthDistribution.parse("8", "--output-len"), 1);
                runner.run(new LoadRunner.Phase("warm-up", null, 8, 400, Long.MAX_VALUE, workload, -400), LoadRunner.Listener.NONE);
                for (double rate : rates) {
                    int n = (int) Math.max(20, Math.round(rate * seconds));
                    LoadRunner.Phase phase = new LoadRunner.Phase("rate " + rate, ArrivalSchedule.rate(rate, true, 1, 1), 0, n, Long.MAX_VALUE, workload, 0);
                    RunSummary s = new RunSummary(runner.run(phase, LoadRunner.Listener.NONE),
                            new RunSummary.RunInfo(url, "mock-model", false, rate, 1, 0, new double[] {50, 99}, null, 10));
                    all.add(s);
                    double cpuMs = s.result.cpuNanos() / 1e6 / n;
                    out.printf(Locale.ROOT, "%10.0f %9d %10.1f %10.1f %11.4f %11.3f %11.3f %13.3f %11.1f %6s%n", rate, n, s.scheduledRate, s.achievedRate,
                            s.achievedRate / rate, s.scheduleLag.percentileMs(50), s.scheduleLag.percentileMs(99), cpuMs,
                            100.0 * s.result.cpuNanos() / s.result.durationNanos(), s.valid() ? "yes" : "NO");
                }
            }
            out.println("achieved = (requests − 1) / (last send − first send); lag = send − intended start; CPU: this JVM's process CPU time (client only).");
            return all.stream().allMatch(RunSummary::valid) ? 0 : 4;
        } finally {
            mock.destroy();
            if (!mock.waitFor(10, TimeUnit.SECONDS)) mock.destroyForcibly();
        }
    }

    private static Process startMock() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = List.of(java, "-cp", System.getProperty("java.class.path"), MockLlmServer.class.getName(), "5", "5", "2");
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }
}
