package dev.mixtral.node;

import dev.mixtral.cluster.ClusterJoin;
import dev.mixtral.cluster.tls.ClusterTls;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.io.ProgressListener;
import dev.mixtral.model.weights.ModelFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedSet;

/**
 * An expert node: maps its experts of every layer (nothing dense), serves them over gRPC, and joins
 * the cluster advertising where, which experts and which model. Holds no per-request state, so any number of coordinators may use it
 * and a call may be retried on another node holding the same experts.
 */
public final class ExpertNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExpertNode.class);

    /**
     * @param host        address to bind and advertise (gRPC and cluster)
     * @param grpcPort    ExpertService port, 0 for any free port (the cluster advertises the one chosen)
     * @param clusterPort Pekko port, 0 for any free port
     * @param join        how the node finds the cluster: seeds ({@code host:port} of members; empty to start a
     *                    new cluster) or cluster bootstrap
     * @param advertise   {@code host:port} coordinators reach the ExpertService at when that is not where it
     *                    listens (a proxy or NAT in between); null: {@code host} and the bound port
     * @param tls         how cluster traffic (gRPC, membership) is secured
     * @param maxExtraExperts how many experts beyond {@code experts} a coordinator may ask this node to
     *                    load while serving (replicas of hot experts): the memory it may add, in experts
     */
    public record Settings(Path model, SortedSet<Integer> experts, String host, int grpcPort, int clusterPort,
                           ClusterJoin join, String advertise, ClusterTls tls, int maxExtraExperts) {
        public Settings(Path model, SortedSet<Integer> experts, String host, int grpcPort, int clusterPort, List<String> seeds) {
            this(model, experts, host, grpcPort, clusterPort, ClusterJoin.seeds(seeds), null, ClusterTls.PLAINTEXT, 0);
        }
    }

    private final ModelFiles files;
    private final NodeExperts experts;
    private final NodeStats stats;
    private final ExpertServer server;
    private final NodeMembership membership;
    private final String grpcAddress;

    private ExpertNode(ModelFiles files, NodeExperts experts, NodeStats stats, ExpertServer server, NodeMembership membership, String grpcAddress) {
        this.files = files;
        this.experts = experts;
        this.stats = stats;
        this.server = server;
        this.membership = membership;
        this.grpcAddress = grpcAddress;
    }

    /** Starts a node that pages its experts in lazily, on first use. */
    public static ExpertNode start(Settings s) {
        return start(s, null);
    }

    /**
     * Starts a node; with {@code pageIn}, it first reads all its experts' pages into memory, reporting there,
     * and only then serves and joins the cluster, so no coordinator's first calls wait on the disk.
     */
    public static ExpertNode start(Settings s, ProgressListener pageIn) {
        ModelFiles files = ModelFiles.open(s.model());
        ExpertServer server = null;
        try {
            LocalExperts held = LocalExperts.load(files, s.experts());
            if (pageIn != null) {
                long start = System.nanoTime();
                long bytes = held.pageIn(pageIn);
                LOG.info("paged in experts {}: {} MiB in {} s", ExpertRanges.format(s.experts()), String.format("%.1f", bytes / 1048576.0),
                        String.format("%.1f", (System.nanoTime() - start) / 1e9));
            }
            NodeExperts experts = new NodeExperts(files, held, s.maxExtraExperts());
            NodeStats stats = new NodeStats(files.config().experts());
            var service = new ExpertServiceImpl(experts, files.config(), files.fingerprint(), nodeName(), stats);
            server = ExpertServer.start(s.host(), s.grpcPort(), service, s.tls());
            String grpcAddress = s.advertise() != null ? s.advertise() : s.host() + ":" + server.port();
            NodeMembership membership = NodeMembership.join(s.host(), s.clusterPort(), s.join(), grpcAddress,
                    ExpertRanges.format(s.experts()), files.fingerprint(), s.tls());
            ExpertNode node = new ExpertNode(files, experts, stats, server, membership, grpcAddress);
            LOG.info("expert node up: experts {} of {} in {} layers ({} MiB mapped), model {} fingerprint {}, gRPC {}, cluster {}{}",
                    ExpertRanges.format(s.experts()), files.config().experts(), files.config().layers(),
                    String.format("%.1f", files.mappedBytes() / 1048576.0), files.path().getFileName(), files.fingerprint(), grpcAddress,
                    membership.address(), "; " + s.join().explain(membership.address()));
            return node;
        } catch (RuntimeException e) {
            if (server != null) server.close();
            files.close();
            throw e;
        }
    }

    private static String nodeName() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return host + "/" + ProcessHandle.current().pid();
    }

    public String grpcAddress() { return grpcAddress; }
    public String clusterAddress() { return membership.address(); }
    public NodeStats stats() { return stats; }
    public ModelFiles files() { return files; }
    /** The experts held now: the placement and any extra ones loaded while serving. */
    public SortedSet<Integer> held() { return experts.held(); }
    /** Bytes of the model file mapped now, extra experts included. */
    public long mappedBytes() { return experts.mappedBytes(); }

    /**
     * Drains, then stops: leaves the cluster first (coordinators stop sending new calls here as soon as
     * they see it leaving, while this node still serves), then lets the calls in flight finish, then
     * unmaps. What SIGTERM does, so a rolling restart loses no call.
     */
    @Override
    public void close() {
        long start = System.nanoTime();
        membership.close();
        long left = System.nanoTime();
        server.close();
        experts.closeExtras();
        LOG.info("drained: left the cluster in {} ms, calls in flight finished in {} ms", (left - start) / 1_000_000,
                (System.nanoTime() - left) / 1_000_000);
        files.close();
    }
}
