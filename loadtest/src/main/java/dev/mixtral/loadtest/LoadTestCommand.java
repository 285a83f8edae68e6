package dev.mixtral.loadtest;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code ./mixtral loadtest}: load an OpenAI-compatible endpoint and measure what its users feel. */
@Command(name = "loadtest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Load an OpenAI-compatible endpoint (this project's server, vLLM, llama.cpp, ...) and measure TTFT, TPOT, ITL,",
                "E2E latency and throughput as vLLM's bench serve defines them, with the client's own schedule lag reported:",
                "a run whose client fell behind its schedule is marked INVALID.",
                "Load shapes: --rate (open loop), --concurrency (closed loop), both (rate with a cap), --ramp, --trace, --sweep."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:the run is valid", "1:bad input (the message says which)", "2:bad usage", "4:the run is INVALID (the client fell behind, or nothing completed)"})
public final class LoadTestCommand implements Callable<Integer> {
    @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", paramLabel = "URL", description = "Base URL of the server. Default: ${DEFAULT-VALUE}.")
    String url;
    @Option(names = "--model", paramLabel = "NAME", description = "Model to request. Default: the first one /v1/models lists.")
    String model;
    @Option(names = "--endpoint", defaultValue = "completions", paramLabel = "completions|chat", description = "/v1/completions or /v1/chat/completions. Default: ${DEFAULT-VALUE}.")
    String endpoint;
    @Option(names = "--api-key", defaultValue = "${env:OPENAI_API_KEY}", paramLabel = "KEY", description = "Sent as 'Authorization: Bearer KEY'. Default: $OPENAI_API_KEY.")
    String apiKey;

    @Option(names = "--rate", paramLabel = "R", description = "Open loop: R requests/s ('inf': all at once). Poisson arrivals unless --arrival constant.")
    String rate;
    @Option(names = "--arrival", paramLabel = "poisson|constant", description = "Arrival process for --rate, --ramp and --sweep. Default: poisson; constant in a sweep (short steps compare at the rate they name).")
    String arrival;
    @Option(names = "--burstiness", defaultValue = "1", paramLabel = "B", description = "Gamma-distributed gaps of shape B as in vLLM (1 = Poisson, < 1 burstier, > 1 more regular). Default: ${DEFAULT-VALUE}.")
    double burstiness;
    @Option(names = "--concurrency", paramLabel = "C", description = "Closed loop with C users; with --rate/--ramp/--trace: at most C requests in flight.")
    Integer concurrency;
    @Option(names = "--ramp", paramLabel = "FROM:TO", description = "Open loop whose rate rises linearly from FROM to TO requests/s over --duration.")
    String ramp;
    @Option(names = "--trace", paramLabel = "FILE", description = "Replay a timed trace (JSONL: timestamp in ms, prompt/messages or input_length, output_length).")
    Path trace;
    @Option(names = "--sweep", description = "Synchronous, then saturation (everything at once, at most --concurrency or 64 in flight), then --sweep-rates rates between.")
    boolean sweep;
    @Option(names = "--sweep-rates", defaultValue = "6", paramLabel = "N", description = "Rates between synchronous and saturation in a sweep. Default: ${DEFAULT-VALUE}.")
    int sweepRates;
    @Option(names = "--slo-refine", defaultValue = "2", paramLabel = "N", description = "Extra bisection steps of a sweep's SLO search. Default: ${DEFAULT-VALUE}.")
    int sloRefine;

    @Option(names = {"-n", "--num-prompts"}, paramLabel = "N", description = "Stop after N requests (per sweep step). Default: 100 unless --duration is given.")
    Integer numPrompts;
    @Option(names = {"-d", "--duration"}, paramLabel = "D", description = "Stop sending after D (30s, 2m; per sweep step); requests in flight finish.")
    String duration;
    @Option(names = "--warmup", defaultValue = "2", paramLabel = "N", description = "Requests sent first and left out of every figure. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--input-len", defaultValue = "128", paramLabel = "DIST", description = "Synthetic prompt tokens: N, uniform:MIN:MAX or normal:MEAN:SD. Default: ${DEFAULT-VALUE}.")
    String inputLen;
    @Option(names = "--output-len", defaultValue = "128", paramLabel = "DIST", description = "max_tokens per request: N, uniform:MIN:MAX or normal:MEAN:SD. Default: ${DEFAULT-VALUE}.")
    String outputLen;
    @Option(names = "--dataset", paramLabel = "FILE", description = "Prompts from JSONL: {\"prompt\": ...} or {\"messages\": [...]}, optional \"max_tokens\".")
    Path dataset;
    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of prompts, lengths, arrivals and per-request sampling seeds. Default: ${DEFAULT-VALUE}.")
    long seed;
    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "Sampling temperature. Default: ${DEFAULT-VALUE}.")
    double temperature;
    @Option(names = "--ignore-eos", description = "Send ignore_eos (vLLM, llama.cpp) so every request generates max_tokens.")
    boolean ignoreEos;
    @Option(names = "--timeout", defaultValue = "300s", paramLabel = "D", description = "Per-request limit; past it the request fails as a timeout. Default: ${DEFAULT-VALUE}.")
    String timeout;

    @Option(names = "--slo", paramLabel = "ttft=MS,tpot=MS,e2el=MS", description = "Objectives: goodput counts requests meeting them; --sweep finds the highest rate whose p99s do.")
    String slo;
    @Option(names = "--percentiles", defaultValue = "90,99", paramLabel = "P,P", description = "Percentiles reported besides the median. Default: ${DEFAULT-VALUE}.")
    String percentiles;
    @Option(names = "--max-schedule-lag", defaultValue = "10", paramLabel = "MS", description = "p99 lag of the client behind its schedule beyond which the run is INVALID. Default: ${DEFAULT-VALUE} ms.")
    double maxScheduleLagMs;

    @Option(names = "--json", paramLabel = "OUT", description = "Write the summary as JSON (vLLM's keys and ours).")
    Path json;
    @Option(names = "--jsonl", paramLabel = "OUT", description = "Write one JSON line per request.")
    Path jsonl;
    @Option(names = "--html", paramLabel = "OUT", description = "Write a self-contained HTML report (charts inlined; opens offline).")
    Path html;
    @Option(names = "--metrics-url", split = ",", paramLabel = "URL", description = "Prometheus endpoints to scrape before, during and after (the coordinator's and the nodes' /metrics, or vLLM's).")
    List<URI> metricsUrls = new ArrayList<>();
    @Option(names = "--metrics-interval", defaultValue = "1s", paramLabel = "D", description = "Time between scrapes. Default: ${DEFAULT-VALUE}.")
    String metricsInterval;
    @Option(names = "--self-test", description = "Measure this tool instead: schedule accuracy and CPU per request at 10, 100 and 1000 req/s against a mock server in a separate JVM.")
    boolean selfTest;
    @Option(names = "--mock-server", description = "Try the tool without a server: load an in-process mock (4 requests at a time, 40-120 ms TTFT, made-up expert metrics) instead of --url.")
    boolean mockServer;
    @Option(names = {"-q", "--quiet"}, description = "No live progress line.")
    boolean quiet;

    PrintStream out = System.out;
    PrintStream err = System.err;

    /** Standalone entry point (the module runs without the rest of the project). */
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns the exit code. */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new LoadTestCommand());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof java.io.UncheckedIOException) {
                System.err.println("loadtest: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        if (selfTest) return SelfTest.run(new double[] {10, 100, 1000}, 5, out);
        if (mockServer) {
            try (MockLlmServer mock = DemoMock.start()) {
                url = mock.url();
                metricsUrls.add(URI.create(mock.url() + "/metrics"));
                return measureAll();
            }
        }
        return measureAll();
    }

    private int measureAll() {
        Plan plan = plan();
        Duration scrapeEvery = DurationParser.parse(metricsInterval, "--metrics-interval");
        for (URI u : metricsUrls) {
            if (u.getScheme() == null || !u.getScheme().startsWith("http")) throw new IllegalArgumentException("--metrics-url: '" + u + "' is not an http(s) URL");
        }
        try (StreamingClient client = new StreamingClient(plan.target());
             MetricsScraper scraper = metricsUrls.isEmpty() ? null : new MetricsScraper(metricsUrls, scrapeEvery)) {
            LoadRunner runner = new LoadRunner(client);
            this.scraper = scraper;
            if (warmup > 0) {
                err.printf("[loadtest] warm-up: %d requests (not counted)%n", warmup);
                runner.run(new LoadRunner.Phase("warm-up", null, Math.min(warmup, Math.max(1, concurrency == null ? 1 : concurrency)),
                        warmup, Long.MAX_VALUE, plan.workload(), -warmup), LoadRunner.Listener.NONE);
            }
            if (scraper != null) scraper.start();
            Report report;
            if (sweep) {
                int[] step = {0};
                Sweep.Outcome outcome = Sweep.run(st -> runPhase(runner, plan.sweepPhase(st, ++step[0]), plan.info(st)),
                        sweepRates, concurrency != null ? concurrency : 64, plan.info().slo(), sloRefine, err);
                for (RunSummary r : outcome.runs()) ConsoleReport.print(r, out);
                Sweep.printTable(outcome, plan.info().slo(), out);
                report = new Report(outcome.runs(), outcome, serverView(scraper));
            } else {
                RunSummary s = runPhase(runner, plan.phase(), plan.info());
                ConsoleReport.print(s, out);
                report = new Report(List.of(s), null, serverView(scraper));
            }
            if (report.server() != null) ServerReport.print(report.server(), out);
            if (json != null) ResultFiles.writeJson(json, report.toMap());
            if (html != null) HtmlReport.write(html, report);
            if (jsonl != null) ResultFiles.writeJsonl(jsonl, report.runs());
            if (json != null || jsonl != null || html != null) {
                err.println("[loadtest] wrote " + String.join(" ", java.util.stream.Stream.of(json, jsonl, html).filter(java.util.Objects::nonNull).map(Path::toString).toList()));
            }
            return report.runs().stream().allMatch(RunSummary::valid) ? 0 : 4;
        }
    }

    /** What one invocation measured: one run, or a sweep's runs with its outcome. */
    record Report(List<RunSummary> runs, Sweep.Outcome sweep, java.util.Map<String, Object> server) {
        /** A single run: vLLM's document. A sweep: its outcome with every step's document under "benchmarks". Then "server". */
        java.util.Map<String, Object> toMap() {
            java.util.Map<String, Object> m = sweep == null ? runs.getFirst().toMap() : sweep.toMap(runs.getFirst().info.slo());
            if (server != null) m.put("server", server);
            return m;
        }
    }

    private MetricsScraper scraper;

    private static java.util.Map<String, Object> serverView(MetricsScraper scraper) {
        if (scraper == null) return null;
        scraper.stop();
        return ServerView.of(scraper);
    }

    RunSummary runPhase(LoadRunner runner, LoadRunner.Phase phase, RunSummary.RunInfo info) {
        double scrapeStart = scraper != null ? scraper.now() : 0;
        RunSummary summary = measure(runner, phase, info);
        if (scraper != null) scraper.span(phase.name(), scrapeStart, scraper.now());
        return summary;
    }

    private RunSummary measure(LoadRunner runner, LoadRunner.Phase phase, RunSummary.RunInfo info) {
        LoadRunner.Result result;
        if (quiet) {
            result = runner.run(phase, LoadRunner.Listener.NONE);
        } else {
            try (ProgressLine progress = new ProgressLine(err, phase.name(), phase.maxRequests())) {
                result = runner.run(phase, progress);
            }
        }
        return new RunSummary(result, info);
    }

    /** Everything the options decide, validated with messages naming the option. */
    record Plan(StreamingClient.Target target, Workload workload, LoadRunner.Phase phase, RunSummary.RunInfo info, boolean constant, long seed) {
        /** A sweep step as a phase: same bounds and workload, fresh prompts (no step reuses another's, so no cache helps it). */
        LoadRunner.Phase sweepPhase(Sweep.Step step, int number) {
            ArrivalSchedule schedule = Double.isNaN(step.rate()) ? null
                    : Double.isInfinite(step.rate()) ? new ArrivalSchedule.AllAtOnce() : ArrivalSchedule.rate(step.rate(), constant, info.burstiness(), seed + number);
            return new LoadRunner.Phase(step.name(), schedule, step.concurrency(), phase.maxRequests(), phase.maxDurationNanos(), workload, number * 1_000_000);
        }

        RunSummary.RunInfo info(Sweep.Step step) {
            double rate = Double.isNaN(step.rate()) || Double.isInfinite(step.rate()) ? Double.NaN : step.rate();
            return new RunSummary.RunInfo(info.url(), info.model(), info.chat(), rate, info.burstiness(), step.concurrency(),
                    info.percentiles(), info.slo(), info.maxScheduleLagMs());
        }
    }

    Plan plan() {
        URI base = baseUrl();
        boolean chat = switch (endpoint.toLowerCase(Locale.ROOT)) {
            case "completions", "completion" -> false;
            case "chat", "chat-completions" -> true;
            default -> throw new IllegalArgumentException("--endpoint: '" + endpoint + "' is neither 'completions' nor 'chat'");
        };
        Duration requestTimeout = DurationParser.parse(timeout, "--timeout");
        if (concurrency != null && concurrency < 1) throw new IllegalArgumentException("--concurrency must be ≥ 1, got " + concurrency);
        if (numPrompts != null && numPrompts < 1) throw new IllegalArgumentException("--num-prompts must be ≥ 1, got " + numPrompts);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be ≥ 0, got " + warmup);
        if (!(burstiness > 0)) throw new IllegalArgumentException("--burstiness must be > 0, got " + burstiness);
        if (!(temperature >= 0)) throw new IllegalArgumentException("--temperature must be ≥ 0, got " + temperature);
        if (!(maxScheduleLagMs > 0)) throw new IllegalArgumentException("--max-schedule-lag must be > 0 ms, got " + maxScheduleLagMs);
        if (arrival == null) arrival = sweep ? "constant" : "poisson";
        boolean constant = switch (arrival.toLowerCase(Locale.ROOT)) {
            case "poisson" -> false;
            case "constant" -> true;
            default -> throw new IllegalArgumentException("--arrival: '" + arrival + "' is neither 'poisson' nor 'constant'");
        };
        LengthDistribution in = LengthDistribution.parse(inputLen, "--input-len");
        LengthDistribution outLen = LengthDistribution.parse(outputLen, "--output-len");
        Slo objectives = slo == null ? null : Slo.parse(slo);
        double[] pcts = parsePercentiles();
        long maxDuration = duration == null ? Long.MAX_VALUE : DurationParser.parse(duration, "--duration").toNanos();
        int shapes = (rate != null ? 1 : 0) + (ramp != null ? 1 : 0) + (trace != null ? 1 : 0);
        if (shapes > 1) throw new IllegalArgumentException("choose one of --rate, --ramp and --trace");
        if (sweep && shapes > 0) throw new IllegalArgumentException("--sweep chooses its own rates: drop --rate, --ramp and --trace");
        if (sweepRates < 1 || sweepRates > 50) throw new IllegalArgumentException("--sweep-rates must be 1..50, got " + sweepRates);
        if (sloRefine < 0 || sloRefine > 20) throw new IllegalArgumentException("--slo-refine must be 0..20, got " + sloRefine);
        if (shapes == 0 && concurrency == null && !sweep) {
            throw new IllegalArgumentException("choose a load shape: --rate R, --concurrency C, both, --ramp FROM:TO, --trace FILE or --sweep");
        }
        if (trace != null && dataset != null) throw new IllegalArgumentException("--trace brings its own requests: drop --dataset");

        TraceReplay replay = trace != null ? TraceReplay.read(trace) : null;
        Workload workload = replay != null ? replay.workload(outLen, seed)
                : dataset != null ? Workload.dataset(dataset, outLen, seed) : Workload.synthetic(in, outLen, seed);
        int maxRequests = numPrompts != null ? numPrompts : replay != null ? replay.size() : maxDuration != Long.MAX_VALUE ? Integer.MAX_VALUE : 100;

        ArrivalSchedule schedule = null;
        double requestedRate = Double.NaN;
        String name;
        if (rate != null) {
            requestedRate = parseRate(rate);
            schedule = Double.isInfinite(requestedRate) ? new ArrivalSchedule.AllAtOnce() : ArrivalSchedule.rate(requestedRate, constant, burstiness, seed);
            name = Double.isInfinite(requestedRate) ? "rate inf" : String.format(Locale.ROOT, "rate %.4g", requestedRate);
            if (Double.isInfinite(requestedRate)) requestedRate = Double.NaN;
        } else if (ramp != null) {
            if (maxDuration == Long.MAX_VALUE) throw new IllegalArgumentException("--ramp needs --duration (the ramp's length)");
            String[] r = ramp.split(":");
            if (r.length != 2) throw new IllegalArgumentException("--ramp: '" + ramp + "' is not FROM:TO (requests/s)");
            double from = parseNonNegative(r[0], "--ramp"), to = parseNonNegative(r[1], "--ramp");
            if (from == 0 && to == 0) throw new IllegalArgumentException("--ramp: both rates are 0");
            schedule = ArrivalSchedule.ramp(from, to, maxDuration / 1e9, constant, burstiness, seed);
            requestedRate = (from + to) / 2;
            name = String.format(Locale.ROOT, "ramp %.4g→%.4g", from, to);
        } else if (replay != null) {
            schedule = replay.schedule();
            requestedRate = schedule.nominalRate();
            name = "trace " + trace.getFileName();
        } else {
            name = sweep ? "sweep" : "concurrency " + concurrency;
        }
        int cap = concurrency == null ? (sweep ? 64 : 0) : concurrency;
        LoadRunner.Phase phase = new LoadRunner.Phase(name, schedule, cap, maxRequests, maxDuration, workload, 0);
        String modelName = model != null ? model : StreamingClient.firstModel(base, apiKey, requestTimeout);
        StreamingClient.Target target = new StreamingClient.Target(base, chat, modelName, apiKey, temperature, ignoreEos, requestTimeout);
        RunSummary.RunInfo info = new RunSummary.RunInfo(base.toString(), modelName, chat, schedule == null ? Double.NaN : requestedRate,
                burstiness, cap, pcts, objectives, maxScheduleLagMs);
        return new Plan(target, workload, phase, info, constant, seed);
    }

    private URI baseUrl() {
        URI base;
        try {
            base = URI.create(url.strip().replaceAll("/+$", "").replaceAll("/v1$", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url: '" + url + "' is not a URL");
        }
        if (base.getScheme() == null || !(base.getScheme().equals("http") || base.getScheme().equals("https")) || base.getHost() == null) {
            throw new IllegalArgumentException("--url: '" + url + "' must be http://HOST:PORT or https://HOST:PORT");
        }
        return base;
    }

    private double[] parsePercentiles() {
        try {
            double[] p = Arrays.stream(percentiles.split(",")).map(String::strip).filter(s -> !s.isEmpty()).mapToDouble(Double::parseDouble).toArray();
            for (double v : p) if (!(v > 0 && v < 100)) throw new IllegalArgumentException("--percentiles: each must be in (0, 100), got " + v);
            Arrays.sort(p);
            return p;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--percentiles: '" + percentiles + "' is not a list of numbers like 90,99,99.9");
        }
    }

    static double parseRate(String text) {
        if (text.equalsIgnoreCase("inf")) return Double.POSITIVE_INFINITY;
        double r;
        try {
            r = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rate: '" + text + "' is not a number of requests/s (or 'inf')");
        }
        if (!(r > 0) || Double.isInfinite(r)) throw new IllegalArgumentException("--rate must be > 0 requests/s, got " + text);
        return r;
    }

    private static double parseNonNegative(String text, String option) {
        try {
            double v = Double.parseDouble(text.strip());
            if (!(v >= 0) || Double.isInfinite(v)) throw new IllegalArgumentException(option + ": rates must be ≥ 0, got " + text);
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": '" + text + "' is not a number of requests/s");
        }
    }
}
