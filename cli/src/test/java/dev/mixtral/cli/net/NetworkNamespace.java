package dev.mixtral.cli.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A second "host" on this machine: a network namespace joined to ours by a veth pair whose two ends have
 * link-local addresses (169.254.0.0/16, never routed anywhere), each end rate-limited by the kernel's
 * {@code tbf} qdisc. Processes started through {@link #wrap} live in it and see only its loopback and its
 * end of the pair, so everything between them and this process crosses the emulated link. Needs root (or
 * CAP_NET_ADMIN) and iproute2; {@link #create} says why when this machine does not allow it.
 */
public final class NetworkNamespace implements AutoCloseable {
    private static final long COMMAND_SECONDS = 20;

    private final String name;
    private final String hostSide;
    private final String hostAddress;
    private final String namespaceAddress;

    private NetworkNamespace(String name, String hostSide, String hostAddress, String namespaceAddress) {
        this.name = name;
        this.hostSide = hostSide;
        this.hostAddress = hostAddress;
        this.namespaceAddress = namespaceAddress;
    }

    /**
     * A namespace {@code name} (at most 11 characters: it also names the veth ends) linked to this one at
     * {@code rateMbit} each way, or empty with the reason appended to {@code whyNot}.
     */
    public static Optional<NetworkNamespace> create(String name, int subnet, int rateMbit, StringBuilder whyNot) {
        if (name.length() > 11) throw new IllegalArgumentException("namespace name too long for its veth ends: " + name);
        String hostSide = name + "-h", nsSide = name + "-n";
        String hostAddress = "169.254." + subnet + ".1", nsAddress = "169.254." + subnet + ".2";
        String tbf = "rate " + rateMbit + "mbit burst 64kb latency 100ms";
        NetworkNamespace ns = new NetworkNamespace(name, hostSide, hostAddress, nsAddress);
        try {
            run("ip", "netns", "add", name);
        } catch (IOException e) {
            whyNot.append("cannot create a network namespace (needs root and iproute2): ").append(e.getMessage());
            return Optional.empty();
        }
        try {
            run("ip", "link", "add", hostSide, "type", "veth", "peer", "name", nsSide);
            run("ip", "link", "set", nsSide, "netns", name);
            run("ip", "addr", "add", hostAddress + "/30", "dev", hostSide);
            run("ip", "link", "set", hostSide, "up");
            run("ip", "netns", "exec", name, "ip", "addr", "add", nsAddress + "/30", "dev", nsSide);
            run("ip", "netns", "exec", name, "ip", "link", "set", nsSide, "up");
            run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
            run(("tc qdisc add dev " + hostSide + " root tbf " + tbf).split(" "));
            run(("ip netns exec " + name + " tc qdisc add dev " + nsSide + " root tbf " + tbf).split(" "));
            return Optional.of(ns);
        } catch (IOException e) {
            ns.close();
            whyNot.append("cannot link a network namespace to this one: ").append(e.getMessage());
            return Optional.empty();
        }
    }

    /** Our end's address: what processes in the namespace reach this one at. */
    public String hostAddress() {
        return hostAddress;
    }

    /** The namespace's end's address: what this process reaches processes in the namespace at. */
    public String namespaceAddress() {
        return namespaceAddress;
    }

    /** {@code command} run inside the namespace ({@code ip netns exec} execs it: the process keeps its pid). */
    public List<String> wrap(List<String> command) {
        List<String> wrapped = new ArrayList<>(List.of("ip", "netns", "exec", name));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Whether process {@code pid} lives in a different network namespace than this JVM. */
    public static boolean inOtherNamespace(long pid) throws IOException {
        return !Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "net"))
                .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")));
    }

    /** Bytes our end's rate limiter has sent towards the namespace (its {@code tbf} statistics). */
    public long bytesSentIntoNamespace() throws IOException {
        String stats = run("tc", "-s", "qdisc", "show", "dev", hostSide);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("tbf.*?Sent (\\d+) bytes", java.util.regex.Pattern.DOTALL).matcher(stats);
        if (!m.find()) throw new IOException("no tbf statistics on " + hostSide + ": " + stats);
        return Long.parseLong(m.group(1));
    }

    /** Deletes the namespace, which deletes the veth pair with it (its processes must be gone). */
    @Override
    public void close() {
        try {
            run("ip", "netns", "del", name);
        } catch (IOException e) {
            System.err.println("could not delete network namespace " + name + ": " + e.getMessage());
        }
    }

    private static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": no answer in " + COMMAND_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ": " + out.strip());
        return out;
    }
}
