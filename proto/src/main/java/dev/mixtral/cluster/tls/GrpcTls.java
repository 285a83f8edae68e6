package dev.mixtral.cluster.tls;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedChannelException;
import java.util.logging.Level;

/**
 * gRPC credentials for cluster traffic, from a {@link ClusterTls}: servers present their certificate
 * and require one signed by the cluster CA from every client (mutual TLS); channels present theirs and
 * check the server's against the CA and the address they dial (so a node's certificate must name the
 * host it advertises, as an IP or DNS subject alternative name).
 *
 * <p>Every refused connection is logged with the peer's address. gRPC itself reports a failed handshake
 * without the address (and at INFO with a stack trace), so the server's TLS negotiator is wrapped
 * to watch each connection's handshake. That wrapping uses grpc-netty's {@code Internal*} accessors, the
 * only hook on a server's connections before their handshake; the tests of refusals pin its behaviour.
 */
public final class GrpcTls {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcTls.class);
    /** gRPC's own per-connection failure log, replaced here by {@link HandshakeWatch}; held so the level sticks. */
    private static final java.util.logging.Logger GRPC_CONNECTION_LOG =
            java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport.connections");

    private GrpcTls() {}

    /** Credentials of a server of cluster traffic ({@code what} names it in logs, e.g. "expert node gRPC"). */
    public static ServerCredentials server(ClusterTls tls, String what) {
        tls.noticeIfPlaintext(LOG);
        if (!tls.enabled()) return InsecureServerCredentials.create();
        ServerCredentials mutual;
        try {
            mutual = TlsServerCredentials.newBuilder()
                    .keyManager(tls.cert().toFile(), tls.key().toFile())
                    .trustManager(tls.ca().toFile())
                    .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the TLS files: " + e.getMessage(), e);
        }
        GRPC_CONNECTION_LOG.setLevel(Level.WARNING);
        InternalProtocolNegotiator.ServerFactory negotiators = InternalNettyServerCredentials.toNegotiator(mutual);
        return InternalNettyServerCredentials.create(
                (InternalProtocolNegotiator.ServerFactory) executors -> new Watching(negotiators.newNegotiator(executors), what));
    }

    /** Credentials of a channel to a cluster server. */
    public static ChannelCredentials channel(ClusterTls tls) {
        tls.noticeIfPlaintext(LOG);
        if (!tls.enabled()) return InsecureChannelCredentials.create();
        try {
            return TlsChannelCredentials.newBuilder()
                    .keyManager(tls.cert().toFile(), tls.key().toFile())
                    .trustManager(tls.ca().toFile())
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the TLS files: " + e.getMessage(), e);
        }
    }

    /** gRPC's TLS negotiator with a {@link HandshakeWatch} on every connection. */
    private record Watching(InternalProtocolNegotiator.ProtocolNegotiator tls, String what)
            implements InternalProtocolNegotiator.ProtocolNegotiator {
        @Override
        public AsciiString scheme() {
            return tls.scheme();
        }

        @Override
        public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
            return new HandshakeWatch(tls.newHandler(grpcHandler), what);
        }

        @Override
        public void close() {
            tls.close();
        }
    }

    /**
     * Puts gRPC's TLS handler in its place (which adds the SSL handler before itself), logs the peer's
     * address if that connection's handshake fails, and leaves the pipeline.
     */
    private static final class HandshakeWatch extends ChannelInboundHandlerAdapter {
        private final ChannelHandler tls;
        private final String what;

        HandshakeWatch(ChannelHandler tls, String what) {
            this.tls = tls;
            this.what = what;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.pipeline().addAfter(ctx.name(), null, tls);
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (ssl != null) {
                var peer = ctx.channel().remoteAddress();
                ssl.handshakeFuture().addListener(f -> {
                    if (f.isSuccess()) return;
                    Throwable why = f.cause();
                    if (why instanceof ClosedChannelException) {
                        LOG.debug("{}: connection from {} closed before its TLS handshake", what, peer);
                    } else {
                        LOG.warn("{}: refused connection from {}: TLS handshake failed ({}){}", what, peer, reason(why),
                                why instanceof io.grpc.netty.shaded.io.netty.handler.ssl.NotSslRecordException ? " — a plaintext client?" : "");
                    }
                });
            }
            ctx.pipeline().remove(this);
        }

        private static String reason(Throwable t) {
            Throwable root = t;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            String m = root.getMessage();
            return root.getClass().getSimpleName() + (m == null ? "" : ": " + (m.length() > 200 ? m.substring(0, 200) + "…" : m));
        }
    }
}
