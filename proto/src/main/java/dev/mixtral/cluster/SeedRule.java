package dev.mixtral.cluster;

import java.util.List;

/**
 * The rule that decides whether a starting member may found a new cluster, stated once so that each
 * process can log which case it is in. Pekko applies it through {@code pekko.cluster.seed-nodes}: only
 * the first seed may join itself, and only after none of the other seeds answered as a member within
 * {@code seed-node-timeout}; every other member joins through the seeds, asking them again every
 * {@code join-retry-interval} until one of them is a member. Every process is given
 * the same seed list, so a restarted seed (the founder included) joins the running cluster whenever any
 * other seed is still in it.
 */
public final class SeedRule {
    private SeedRule() {}

    /** Whether a member at {@code self} with these seeds may ever found a cluster on its own. */
    public static boolean mayFound(String self, List<String> seeds) {
        return seeds.isEmpty() || seeds.getFirst().strip().equals(self);
    }

    /** One line saying how the member at {@code self} ({@code host:port}) joins or founds the cluster. */
    public static String explain(String self, List<String> seeds) {
        if (seeds.isEmpty()) return "no seeds given: founds a new cluster at once";
        List<String> others = seeds.stream().map(String::strip).filter(s -> !s.equals(self)).toList();
        if (mayFound(self, seeds)) {
            return others.isEmpty() ? "the only seed: founds a new cluster"
                    : "first seed: joins the cluster of " + others + " if any of them answers within the seed-node timeout,"
                    + " founds a new cluster only if none does";
        }
        return (seeds.stream().map(String::strip).anyMatch(self::equals) ? "seed, not the first" : "not a seed")
                + ": joins through the seeds " + seeds + " as soon as one of them is a member, never founds a cluster"
                + " (only the first seed may)";
    }
}
