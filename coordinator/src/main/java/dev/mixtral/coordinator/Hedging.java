package dev.mixtral.coordinator;

import java.time.Duration;
import java.util.Arrays;

/**
 * When to send a second copy of a node call to a replica: after a latency budget derived from recent
 * successful calls, so that a stalled node (a GC pause, SIGSTOP, a slow host) costs a layer step that
 * budget rather than the call timeout. The budget is {@code factor} × the {@code percentile} of the last
 * {@value #WINDOW} call times, never below {@code floor} (calls that fast are not worth a duplicate) and
 * never above {@code ceiling}. Replicas compute the same bits, so whichever answer comes first is used.
 */
public final class Hedging {
    /** How the budget is derived; {@link #OFF} never hedges. */
    public record Policy(boolean enabled, double percentile, double factor, Duration floor, Duration ceiling) {
        public static final Policy DEFAULT = new Policy(true, 0.99, 3.0, Duration.ofMillis(50), Duration.ofSeconds(2));
        public static final Policy OFF = new Policy(false, 0.99, 3.0, Duration.ofMillis(50), Duration.ofSeconds(2));

        public Policy {
            if (percentile <= 0 || percentile > 1) throw new IllegalArgumentException("the hedging percentile must be in (0, 1], got " + percentile);
            if (factor < 1) throw new IllegalArgumentException("the hedging factor must be >= 1, got " + factor);
            if (floor.isNegative() || ceiling.compareTo(floor) < 0) throw new IllegalArgumentException("need 0 <= floor <= ceiling");
        }

        /** A fixed budget: hedge every call still unanswered after {@code after}. */
        public static Policy after(Duration after) {
            return new Policy(true, 1.0, 1.0, after, after);
        }
    }

    static final int WINDOW = 512;

    private final Policy policy;
    private final long[] recent = new long[WINDOW];
    private int count;
    private int next;
    private volatile long budgetNanos;

    Hedging(Policy policy) {
        this.policy = policy;
        this.budgetNanos = policy.ceiling().toNanos();
    }

    Policy policy() {
        return policy;
    }

    /** Records a successful call's duration; the budget follows the recent ones. */
    synchronized void observe(long nanos) {
        recent[next] = nanos;
        next = (next + 1) % WINDOW;
        if (count < WINDOW) count++;
        // recomputed every 32 calls: a sort of 512 longs per layer call would be noticeable
        if (next % 32 == 0 || count < 32) budgetNanos = derive();
    }

    private long derive() {
        long[] sorted = Arrays.copyOf(recent, count);
        Arrays.sort(sorted);
        long p = sorted[Math.min(count - 1, (int) Math.ceil(policy.percentile() * count) - 1)];
        long b = (long) (p * policy.factor());
        return Math.clamp(b, policy.floor().toNanos(), policy.ceiling().toNanos());
    }

    /** How long to wait for a call before hedging it; {@code Long.MAX_VALUE} if hedging is off. */
    long budgetNanos() {
        return policy.enabled() ? budgetNanos : Long.MAX_VALUE;
    }
}
