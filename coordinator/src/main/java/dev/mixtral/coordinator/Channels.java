package dev.mixtral.coordinator;

import dev.mixtral.cluster.WireFormat;
import dev.mixtral.cluster.tls.ClusterTls;
import dev.mixtral.cluster.tls.GrpcTls;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

/** Every channel to an expert node is built here, so transport security can be added in one place. */
final class Channels {
    private Channels() {}

    static ManagedChannel open(String hostPort, ClusterTls tls) {
        return NettyChannelBuilder.forTarget(hostPort, GrpcTls.channel(tls))
                .maxInboundMessageSize(WireFormat.MAX_MESSAGE_BYTES)
                // callbacks only complete futures: run them on the transport thread, saving a hop per call
                .directExecutor()
                .build();
    }
}
