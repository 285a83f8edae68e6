package dev.mixtral.cli.net;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy that emulates a link: every byte is delivered a fixed one-way delay after it arrived, and no
 * faster than the link's rate, in order. Made for what this kernel lacks (no netem qdisc for delay): put one in
 * front of each expert node and have the node advertise the proxy's address ({@code expert-node --advertise}).
 * Each direction of each connection is its own link: a reader stamps each chunk with its delivery time (when the
 * link has sent it at {@code rate}, plus {@code delay}) and a writer delivers the chunks at those times.
 */
public final class DelayProxy implements AutoCloseable {
    private static final int CHUNK = 64 * 1024;
    /** Chunks in flight per direction: bounds the memory; TCP back-pressure holds the sender beyond it. */
    private static final int QUEUE = 512;

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final long delayNanos;
    private final double nanosPerByte;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private final java.util.concurrent.atomic.AtomicLong forwarded = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean closed;

    /**
     * Listens on {@code 127.0.0.1:listenPort} (0: any free port) and forwards to {@code target}, each way
     * {@code delayNanos} later and at most {@code bitsPerSecond} (0: unlimited).
     */
    public static DelayProxy start(int listenPort, InetSocketAddress target, long delayNanos, long bitsPerSecond) throws IOException {
        if (delayNanos < 0 || bitsPerSecond < 0) throw new IllegalArgumentException("delay and rate must be >= 0");
        return new DelayProxy(new ServerSocket(listenPort, 50, InetAddress.getLoopbackAddress()), target, delayNanos, bitsPerSecond);
    }

    private DelayProxy(ServerSocket server, InetSocketAddress target, long delayNanos, long bitsPerSecond) {
        this.server = server;
        this.target = target;
        this.delayNanos = delayNanos;
        this.nanosPerByte = bitsPerSecond == 0 ? 0 : 8e9 / bitsPerSecond;
        this.acceptor = Thread.ofPlatform().daemon().name("delay-proxy-" + port()).start(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Bytes delivered so far, both directions. */
    public long forwardedBytes() {
        return forwarded.get();
    }

    /** {@code 127.0.0.1:port}: the address to advertise instead of the target's. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket();
                try {
                    upstream.connect(target, 10_000);
                } catch (IOException e) {
                    client.close();
                    continue;
                }
                for (Socket s : List.of(client, upstream)) {
                    s.setTcpNoDelay(true);
                    sockets.add(s);
                }
                link(client, upstream, "up");
                link(upstream, client, "down");
            } catch (IOException e) {
                if (!closed) System.err.println("delay proxy " + address() + ": " + e.getMessage());
            }
        }
    }

    private record Chunk(byte[] bytes, long deliverAt) {}

    private static final Chunk EOF = new Chunk(new byte[0], 0);

    /** One direction: a reader that stamps chunks and a writer that delivers them on time. */
    private void link(Socket from, Socket to, String direction) {
        BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(QUEUE);
        Thread.ofPlatform().daemon().name("delay-proxy-" + port() + "-" + direction + "-read").start(() -> {
            long linkFreeAt = 0;
            try (InputStream in = from.getInputStream()) {
                byte[] buf = new byte[CHUNK];
                for (int n; (n = in.read(buf)) >= 0; ) {
                    long now = System.nanoTime();
                    // the link sends one chunk after another: it starts when the previous one is out
                    long sent = Math.max(now, linkFreeAt) + (long) (n * nanosPerByte);
                    linkFreeAt = sent;
                    queue.put(new Chunk(Arrays.copyOf(buf, n), sent + delayNanos));
                }
            } catch (IOException | InterruptedException e) {
                // the connection is gone: the writer ends after what was read
            }
            try {
                queue.put(EOF);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread.ofPlatform().daemon().name("delay-proxy-" + port() + "-" + direction + "-write").start(() -> {
            try {
                OutputStream out = to.getOutputStream();
                for (Chunk c; (c = queue.take()) != EOF; ) {
                    for (long wait; (wait = c.deliverAt - System.nanoTime()) > 0; ) LockSupport.parkNanos(wait);
                    out.write(c.bytes);
                    out.flush();
                    forwarded.addAndGet(c.bytes.length);
                }
                to.shutdownOutput();
            } catch (IOException | InterruptedException e) {
                closeQuietly(from);
                closeQuietly(to);
            }
        });
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        sockets.forEach(DelayProxy::closeQuietly);
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs proxies from the command line (the beyond-one-host benchmark puts one in front of each node). */
    @Command(name = "delay-proxy", mixinStandardHelpOptions = true,
            description = "Forward 127.0.0.1:LISTEN to HOST:PORT with a one-way delay and a rate cap, until killed.")
    static final class Cli implements Callable<Integer> {
        @Option(names = "--map", required = true, split = ",", paramLabel = "LISTEN=HOST:PORT",
                description = "Listening port and its target; repeat or comma-separate for several.") List<String> maps;
        @Option(names = "--delay-ms", defaultValue = "0.5", description = "One-way delay in ms. Default: ${DEFAULT-VALUE}.") double delayMs;
        @Option(names = "--rate-mbit", defaultValue = "0", description = "Rate cap per direction in Mbit/s (0: none). Default: ${DEFAULT-VALUE}.") double rateMbit;

        @Override
        public Integer call() throws Exception {
            for (String m : maps) {
                String[] lt = m.split("=", 2);
                String[] hp = lt[1].split(":", 2);
                DelayProxy p = start(Integer.parseInt(lt[0]), new InetSocketAddress(hp[0], Integer.parseInt(hp[1])),
                        (long) (delayMs * 1e6), (long) (rateMbit * 1e6));
                System.out.printf("delay proxy %s -> %s: %.3f ms each way, %s%n", p.address(), lt[1], delayMs,
                        rateMbit == 0 ? "no rate cap" : rateMbit + " Mbit/s");
            }
            System.out.flush();
            new CountDownLatch(1).await();
            return 0;
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Cli()).execute(args));
    }
}
