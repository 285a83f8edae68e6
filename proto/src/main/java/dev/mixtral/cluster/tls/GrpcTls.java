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
import io.grpc.netty.shaded.io.netty.handler.ssl.NotSslRecordException;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.channels.ClosedChannelException;
import java.util.logging.Level;

/**
 * gRPC credentials for cluster traffic, from a {@link ClusterTls}: servers present their certificate
 * and require one signed by the cluster CA from every client (mutual TLS); channels present theirs and
 * check the server's against the CA and the address they dial (so a node's certificate must name the
 * host it advertises, as an IP or DNS subject alternative name). Both re-read the files when they change
 * ({@link ReloadingTls}).
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
        ReloadingTls files = ReloadingTls.of(tls);
        ServerCredentials mutual = TlsServerCredentials.newBuilder()
                .keyManager(files.keys)
                .trustManager(files.trust)
                .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                .build();
        GRPC_CONNECTION_LOG.setLevel(Level.WARNING);
        InternalProtocolNegotiator.ServerFactory negotiators = InternalNettyServerCredentials.toNegotiator(mutual);
        return InternalNettyServerCredentials.create(
                (InternalProtocolNegotiator.ServerFactory) executors -> new Watching(negotiators.newNegotiator(executors), what));
    }

    /** Credentials of a channel to a cluster server. */
    public static ChannelCredentials channel(ClusterTls tls) {
        tls.noticeIfPlaintext(LOG);
        if (!tls.enabled()) return InsecureChannelCredentials.create();
        ReloadingTls files = ReloadingTls.of(tls);
        return TlsChannelCredentials.newBuilder().keyManager(files.keys).trustManager(files.trust).build();
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
     * Sits after gRPC's TLS handler, which passes a failed handshake on as an exception: logs it with the
     * peer's address, once per connection. After a successful handshake gRPC's HTTP/2 handler, placed
     * before this one, consumes every read, so this costs nothing per call.
     */
    private static final class HandshakeWatch extends ChannelInboundHandlerAdapter {
        private final ChannelHandler tls;
        private final String what;
        private boolean reported;

        HandshakeWatch(ChannelHandler tls, String what) {
            this.tls = tls;
            this.what = what;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.pipeline().addBefore(ctx.name(), null, tls);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (!reported && ssl != null && !ssl.handshakeFuture().isSuccess()) {
                reported = true;
                Throwable root = rootCause(cause);
                if (root instanceof ClosedChannelException) {
                    LOG.debug("{}: connection from {} closed during its TLS handshake", what, ctx.channel().remoteAddress());
                } else {
                    LOG.warn("{}: refused connection from {}: TLS handshake failed ({})", what, ctx.channel().remoteAddress(),
                            root instanceof NotSslRecordException ? "not TLS: a plaintext client?" : reason(root));
                }
            }
            ctx.fireExceptionCaught(cause);
        }

        private static Throwable rootCause(Throwable t) {
            Throwable root = t;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            return root;
        }

        private static String reason(Throwable root) {
            String m = root.getMessage();
            return root.getClass().getSimpleName() + (m == null ? "" : ": " + (m.length() > 200 ? m.substring(0, 200) + "…" : m));
        }
    }
}
