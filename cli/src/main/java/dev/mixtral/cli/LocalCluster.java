package dev.mixtral.cli;

import dev.mixtral.node.ExpertRanges;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * Expert-node processes on this machine (loopback), each holding an even share of the experts: what
 * {@code ./mixtral cluster} runs and what tests use. Children run the same java binary and class path
 * as this JVM, and die with it: a shutdown hook stops them, and each watches this process's id in case
 * it is killed without running hooks.
 */
public final class LocalCluster implements AutoCloseable {
    /** The JVM flags every process of the project runs with: the root pom's jvm.flags. */
    static final List<String> JVM_FLAGS = JvmFlags.read();

    /** How many of the first nodes are seeds: every node lists them all, so any one of them can restart and rejoin. */
    static final int SEEDS = 3;

    public record Node(int index, SortedSet<Integer> experts, Process process) {
        public long pid() { return process.pid(); }
    }

    private final Path model;
    private final String host;
    private final int seedPort;
    private final List<String> extraArgs;
    private final IntFunction<List<String>> nodeArgs;
    private final Consumer<String> output;
    private final List<SortedSet<Integer>> shares;
    private final Node[] nodes;
    /** Nodes writing the class-data archive at exit ({@link NodeClassArchive}): given longer to stop. */
    private final java.util.Set<Process> recording = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean killOnClose;
    private final Thread hook = new Thread(this::close, "local-cluster-shutdown");

    private LocalCluster(Path model, String host, int seedPort, List<SortedSet<Integer>> shares, List<String> extraArgs,
                         IntFunction<List<String>> nodeArgs, Consumer<String> output) {
        this.model = model;
        this.host = host;
        this.seedPort = seedPort;
        this.shares = shares;
        this.extraArgs = extraArgs;
        this.nodeArgs = nodeArgs;
        this.output = output;
        this.nodes = new Node[shares.size()];
    }

    /** A TCP port free on every local address right now (for a child process to bind: it may be taken again meanwhile). */
    public static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Starts {@code n} nodes sharing {@code experts} experts evenly, each expert on {@code replicas}
     * nodes. The first {@value #SEEDS} nodes are the seeds, on cluster ports {@code seedPort}, {@code seedPort+1}, …;
     * every node is given all of them, so node 0 founds the cluster only when no other seed is in one
     * (see {@code SeedRule}) and any node, node 0 included, rejoins the running cluster when restarted.
     *
     * @param output receives every line the nodes print, prefixed {@code [node-i] }
     */
    public static LocalCluster start(Path model, int experts, int n, int replicas, String host, int seedPort,
                                     List<String> extraArgs, Consumer<String> output) {
        return start(model, experts, n, replicas, host, seedPort, extraArgs, i -> List.of(), output);
    }

    /** As above, node {@code i} also getting {@code nodeArgs.apply(i)} (e.g. its own TLS certificate). */
    public static LocalCluster start(Path model, int experts, int n, int replicas, String host, int seedPort,
                                     List<String> extraArgs, IntFunction<List<String>> nodeArgs, Consumer<String> output) {
        LocalCluster cluster = new LocalCluster(model, host, seedPort, split(experts, n, replicas), extraArgs, nodeArgs, output);
        Runtime.getRuntime().addShutdownHook(cluster.hook);
        try {
            for (int i = 0; i < n; i++) cluster.start(i);
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** Starts {@code n} nodes for the model at {@code model} (its expert count read from the header) on loopback. */
    public static LocalCluster startFor(Path model, int n, int replicas, int seedPort, Consumer<String> output) {
        return startFor(model, n, replicas, seedPort, i -> List.of(), output);
    }

    /** As above, node {@code i} also getting {@code nodeArgs.apply(i)}. */
    public static LocalCluster startFor(Path model, int n, int replicas, int seedPort, IntFunction<List<String>> nodeArgs,
                                        Consumer<String> output) {
        if (!java.nio.file.Files.exists(model)) throw new UserException(model + ": no such file or directory");
        int experts;
        try (dev.mixtral.model.weights.ModelFiles files = dev.mixtral.model.weights.ModelFiles.open(model)) { // header only
            experts = files.config().experts();
        }
        return start(model, experts, n, replicas, "127.0.0.1", seedPort, List.of(), nodeArgs, output);
    }

    /** The project's placement rule (see {@link Placement#shares}). */
    public static List<SortedSet<Integer>> split(int experts, int n, int replicas) {
        return Placement.shares(experts, n, replicas);
    }

    /** The seeds' cluster addresses, comma-separated: what a coordinator or another node is given as {@code --seeds}. */
    public String seeds() {
        List<String> seeds = new ArrayList<>();
        for (int i = 0; i < Math.min(SEEDS, nodes.length); i++) seeds.add(host + ":" + (seedPort + i));
        return String.join(",", seeds);
    }

    public List<Node> nodes() {
        return List.of(nodes);
    }

    public Node node(int i) {
        return nodes[i];
    }

    /** Starts node {@code i} (again, after {@link #kill}): the same command line each time. */
    public synchronized Node start(int i) {
        if (nodes[i] != null && nodes[i].process().isAlive()) throw new IllegalStateException("node-" + i + " is running");
        List<String> args = new ArrayList<>(List.of("--seeds", seeds(), "--cluster-port", Integer.toString(i < SEEDS ? seedPort + i : 0)));
        args.addAll(extraArgs);
        args.addAll(nodeArgs.apply(i));
        NodeClassArchive.Use archive = NodeClassArchive.forNode(javaAndFlags());
        ProcessBuilder pb = nodeProcess(model, ExpertRanges.format(shares.get(i)), host, args, archive);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            archive.afterExit().run();
            throw new UncheckedIOException("cannot start node-" + i + ": " + e.getMessage(), e);
        }
        nodes[i] = new Node(i, shares.get(i), p);
        if (archive.records()) recording.add(p);
        Thread pump = new Thread(() -> {
            pump(i, p);
            archive.afterExit().run();
        }, "node-" + i + "-output");
        pump.setDaemon(true);
        pump.start();
        return nodes[i];
    }

    /**
     * The command of one expert node, run like this JVM (same java, class path and flags), merged output,
     * told to exit when this process does; with the nodes' class-data archive if one has been recorded.
     */
    public static ProcessBuilder nodeProcess(Path model, String experts, String host, List<String> args) {
        return nodeProcess(model, experts, host, args, NodeClassArchive.ifRecorded(javaAndFlags()));
    }

    private static ProcessBuilder nodeProcess(Path model, String experts, String host, List<String> args, NodeClassArchive.Use archive) {
        List<String> cmd = new ArrayList<>(javaAndFlags());
        cmd.addAll(archive.jvmOptions());
        cmd.add("-cp");
        cmd.add(archive.classPath());
        cmd.add(Main.class.getName());
        cmd.addAll(List.of("expert-node", "--model", model.toString(), "--experts", experts, "--host", host));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put(ExpertNodeCommand.PARENT_PID_ENV, Long.toString(ProcessHandle.current().pid()));
        return pb;
    }

    /** The java binary of this JVM and the project's JVM flags: how every process of the project is started. */
    static List<String> javaAndFlags() {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(JVM_FLAGS);
        cmd.addAll(vectorWidthFlags(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()));
        return cmd;
    }

    /** The flags that set the kernels' vector width; the nodes run with this process's, so an A/B run of widths covers the whole cluster. */
    private static final List<String> WIDTH_FLAG_PREFIXES = List.of("-XX:MaxVectorSize=", "-XX:UseAVX=", "-D" + dev.mixtral.model.kernel.VectorWidth.PROPERTY + "=");

    static List<String> vectorWidthFlags(List<String> jvmArguments) {
        return jvmArguments.stream().filter(a -> WIDTH_FLAG_PREFIXES.stream().anyMatch(a::startsWith)).toList();
    }

    private void pump(int i, Process p) {
        String prefix = "[node-" + i + "] ";
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) output.accept(prefix + line);
        } catch (IOException e) {
            // the process is gone
        }
        try {
            output.accept(prefix + "exited with code " + p.waitFor());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills node {@code i} at once, as a crash would (no leaving the cluster). */
    public void kill(int i) {
        Process p = nodes[i].process();
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Makes {@link #close} kill the nodes at once (SIGKILL) instead of asking them to leave, for tests, which
     * throw the whole cluster away: leaving takes a node seconds, and ten (its bound) when another member is
     * already dead and the cluster cannot converge. A node recording the class-data archive still gets SIGTERM,
     * since it writes the archive as it exits, and the others are killed once it has. Returns this cluster.
     */
    public LocalCluster killOnClose() {
        killOnClose = true;
        return this;
    }

    /**
     * Stops every node: asks them to leave (SIGTERM), then kills what is still running; or kills them at once
     * ({@link #killOnClose}). Idempotent.
     */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: this is the hook
        }
        List<Process> leaving = new ArrayList<>(), killed = new ArrayList<>();
        for (Node n : nodes) {
            if (n == null || !n.process().isAlive()) continue;
            if (killOnClose && !recording.contains(n.process())) {
                killed.add(n.process());
            } else {
                n.process().destroy();
                leaving.add(n.process());
            }
        }
        // the ones to kill only once the others have left: a member leaves only when the rest are reachable
        stop(leaving);
        for (Process p : killed) p.destroyForcibly();
        stop(killed);
    }

    /** Waits for each process to exit (10 s, 60 s for one writing the archive), killing what is still running then. */
    private void stop(List<Process> processes) {
        long now = System.nanoTime();
        long deadline = now + TimeUnit.SECONDS.toNanos(10), recorderDeadline = now + TimeUnit.SECONDS.toNanos(60);
        for (Process p : processes) {
            try {
                long until = recording.contains(p) ? recorderDeadline : deadline;
                if (!p.waitFor(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
