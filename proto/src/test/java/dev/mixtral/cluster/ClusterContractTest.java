package dev.mixtral.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.mixtral.cluster.tls.ClusterTls;
import org.apache.pekko.cluster.ClusterSettings;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How long each kind of member waits on the seeds, as Pekko itself reads it from the settings a member
 * starts with: the founder the long seed-node timeout that keeps a restarted founder from founding a
 * second cluster, every other member the short interval at which it asks the seeds again.
 */
class ClusterContractTest {
    static final List<String> SEEDS = List.of("127.0.0.1:25520", "127.0.0.1:25521", "127.0.0.1:25522");
    static final Duration FOUNDER_WAIT = ConfigFactory.parseResources("mixtral/v1/cluster.conf").getDuration("pekko.cluster.seed-node-timeout");

    @Test
    void theFirstSeedWaitsTheFullSeedNodeTimeoutBeforeFoundingACluster() {
        assertThat(seedNodeTimeout(settings("127.0.0.1", 25520, SEEDS))).isEqualTo(FOUNDER_WAIT);
        assertThat(seedNodeTimeout(settings("127.0.0.1", 25520, List.of(" 127.0.0.1:25520", "127.0.0.1:25521"))))
                .as("seeds are compared stripped, as Pekko's own first-seed check sees them").isEqualTo(FOUNDER_WAIT);
    }

    @Test
    void everyOtherMemberAsksTheSeedsAgainAtTheShortJoinRetryInterval() {
        assertThat(ClusterContract.JOIN_RETRY_INTERVAL).isPositive().isLessThan(FOUNDER_WAIT);
        assertThat(seedNodeTimeout(settings("127.0.0.1", 25521, SEEDS))).as("a seed, not the first").isEqualTo(ClusterContract.JOIN_RETRY_INTERVAL);
        assertThat(seedNodeTimeout(settings("127.0.0.1", 40000, SEEDS))).as("a node that is not a seed").isEqualTo(ClusterContract.JOIN_RETRY_INTERVAL);
        assertThat(seedNodeTimeout(settings("127.0.0.1", 0, SEEDS))).as("a coordinator, on any free port").isEqualTo(ClusterContract.JOIN_RETRY_INTERVAL);
        assertThat(seedNodeTimeout(settings("10.0.0.7", 25520, SEEDS))).as("same port, another host").isEqualTo(ClusterContract.JOIN_RETRY_INTERVAL);
    }

    @Test
    void theSeedsAndTheRestOfTheContractAreTheSameForEveryMember() {
        Config founder = settings("127.0.0.1", 25520, SEEDS);
        Config other = settings("127.0.0.1", 0, SEEDS);
        assertThat(founder.getStringList("pekko.cluster.seed-nodes")).isEqualTo(other.getStringList("pekko.cluster.seed-nodes"))
                .containsExactly("pekko://mixtral@127.0.0.1:25520", "pekko://mixtral@127.0.0.1:25521", "pekko://mixtral@127.0.0.1:25522");
        assertThat(founder.withoutPath("pekko.cluster.seed-node-timeout").withoutPath("pekko.remote.artery.canonical.port"))
                .isEqualTo(other.withoutPath("pekko.cluster.seed-node-timeout").withoutPath("pekko.remote.artery.canonical.port"));
    }

    private static Config settings(String host, int port, List<String> seeds) {
        return ClusterContract.config(host, port, seeds, List.of(ClusterContract.NODE_ROLE), ClusterTls.PLAINTEXT);
    }

    /** The timeout Pekko's cluster extension will use with these settings. */
    private static Duration seedNodeTimeout(Config config) {
        return Duration.ofNanos(new ClusterSettings(config, ClusterContract.SYSTEM_NAME).SeedNodeTimeout().toNanos());
    }
}
