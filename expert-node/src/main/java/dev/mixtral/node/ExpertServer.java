package dev.mixtral.node;

import dev.mixtral.cluster.WireFormat;
import dev.mixtral.cluster.tls.ClusterTls;
import dev.mixtral.cluster.tls.GrpcTls;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** The node's gRPC server. Built here only, so transport security can be added in one place. */
final class ExpertServer implements AutoCloseable {
    /** Longest wait for calls in flight on stopping: beyond the coordinators' default call deadline (10 s). */
    static final int DRAIN_SECONDS = 15;

    private final Server server;

    private ExpertServer(Server server) {
        this.server = server;
    }

    /** Listens on {@code host:port} ({@code port} 0: any free port), secured by {@code tls}. */
    static ExpertServer start(String host, int port, BindableService service, ClusterTls tls) {
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port), GrpcTls.server(tls, "expert node gRPC"))
                .addService(service)
                .maxInboundMessageSize(WireFormat.MAX_MESSAGE_BYTES)
                // compute on the transport thread: the coordinator waits for each layer call, so handing it
                // to another thread only adds a wake-up per call (measured: decode fan-out overhead
                // 9.4-10.3 → 7.9-8.6 ms per layer call, 8.8-9.1 → 9.8-9.9 tokens/s on the layer-shape model)
                .directExecutor()
                .build();
        try {
            server.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen for gRPC on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        return new ExpertServer(server);
    }

    int port() {
        return server.getPort();
    }

    /** Refuses new calls and waits for those in flight (each has the coordinator's deadline) before stopping. */
    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(DRAIN_SECONDS, TimeUnit.SECONDS)) server.shutdownNow();
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
