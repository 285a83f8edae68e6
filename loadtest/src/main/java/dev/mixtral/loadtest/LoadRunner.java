package dev.mixtral.loadtest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one phase of load: open loop (a schedule of intended start times, optionally capped by a number of
 * requests in flight) or closed loop (a fixed number of users, each sending its next request when the last
 * one ends). Every request runs on its own virtual thread; one platform thread keeps the schedule.
 */
final class LoadRunner {
    /** How the run is shaped and bounded. {@code schedule == null}: closed loop with {@code concurrency} users. */
    record Phase(String name, ArrivalSchedule schedule, int concurrency, int maxRequests, long maxDurationNanos, Workload workload, int firstIndex) {
        Phase {
            if (schedule == null && concurrency <= 0) throw new IllegalArgumentException("a closed-loop phase needs a concurrency");
            if (maxRequests == Integer.MAX_VALUE && maxDurationNanos == Long.MAX_VALUE) throw new IllegalArgumentException("a phase needs a bound");
        }
    }

    /** Told of every request as it starts and ends (the progress line, the live view). */
    interface Listener {
        Listener NONE = new Listener() {};

        default void started() {}

        default void finished(RequestRecord r) {}
    }

    /** The records of one phase; times are relative to {@code clock}. */
    record Result(Phase phase, List<RequestRecord> records, long clock, long durationNanos, long cpuNanos) {}

    /** Lead time before the first request, so it can be sent on time rather than already late. */
    private static final long START_LEAD_NANOS = 20_000_000;

    private final StreamingClient client;

    LoadRunner(StreamingClient client) {
        this.client = client;
    }

    Result run(Phase phase, Listener listener) {
        ConcurrentLinkedQueue<RequestRecord> records = new ConcurrentLinkedQueue<>();
        long cpuBefore = CpuTime.processNanos();
        long clock = System.nanoTime() + START_LEAD_NANOS;
        try (ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor()) {
            if (phase.schedule() != null) openLoop(phase, clock, requests, records, listener);
            else closedLoop(phase, clock, requests, records, listener);
        } // close() waits for every request; each is bounded by the client's --timeout
        long duration = System.nanoTime() - clock;
        List<RequestRecord> sorted = new ArrayList<>(records);
        sorted.sort(Comparator.comparingInt(RequestRecord::index));
        return new Result(phase, List.copyOf(sorted), clock, duration, CpuTime.processNanos() - cpuBefore);
    }

    private void openLoop(Phase phase, long clock, ExecutorService requests, ConcurrentLinkedQueue<RequestRecord> records, Listener listener) {
        Semaphore slots = phase.concurrency() > 0 ? new Semaphore(phase.concurrency()) : null;
        for (int i = 0; i < phase.maxRequests(); i++) {
            long offset = phase.schedule().nextOffsetNanos();
            if (offset < 0 || offset >= phase.maxDurationNanos()) break;
            long intended = clock + offset;
            // park to the intended time; a late wake-up shows as schedule lag, it is not hidden
            for (long wait; (wait = intended - System.nanoTime()) > 0; ) LockSupport.parkNanos(wait);
            RequestSpec spec = phase.workload().spec(phase.firstIndex() + i);
            requests.submit(() -> {
                long slotWait = 0;
                if (slots != null) {
                    long before = System.nanoTime();
                    slots.acquireUninterruptibly();
                    slotWait = System.nanoTime() - before;
                }
                try {
                    listener.started();
                    RequestRecord r = client.send(spec, clock, offset, slotWait);
                    records.add(r);
                    listener.finished(r);
                } finally {
                    if (slots != null) slots.release();
                }
            });
        }
    }

    private void closedLoop(Phase phase, long clock, ExecutorService requests, ConcurrentLinkedQueue<RequestRecord> records, Listener listener) {
        LockSupport.parkNanos(clock - System.nanoTime());
        AtomicInteger next = new AtomicInteger();
        for (int u = 0; u < phase.concurrency(); u++) {
            requests.submit(() -> {
                while (true) {
                    long intended = System.nanoTime() - clock; // a user sends as soon as its last answer is in
                    if (intended >= phase.maxDurationNanos()) return;
                    int i = next.getAndIncrement();
                    if (i >= phase.maxRequests()) return;
                    listener.started();
                    RequestRecord r = client.send(phase.workload().spec(phase.firstIndex() + i), clock, intended, 0);
                    records.add(r);
                    listener.finished(r);
                }
            });
        }
    }
}
