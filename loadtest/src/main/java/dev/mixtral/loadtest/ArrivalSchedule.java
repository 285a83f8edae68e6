package dev.mixtral.loadtest;

import java.util.SplittableRandom;

/**
 * When each request of an open-loop run is meant to start, as an offset from the run's start.
 * Arrivals are drawn in "operational time" (gaps of mean 1) and mapped to real time through the
 * cumulative rate Λ(t), so constant, Poisson, gamma-bursty and linearly ramped rates share one path.
 */
interface ArrivalSchedule {
    /** The next intended start offset in nanoseconds, non-decreasing; -1 when the schedule has ended. */
    long nextOffsetNanos();

    /** The nominal rate in requests/s at the start (for reports); NaN when not a rate. */
    double nominalRate();

    /**
     * Gaps of mean 1 in operational time: constant (every gap 1) or gamma with shape {@code burstiness}
     * and scale 1/burstiness, as vLLM draws them (burstiness 1 = exponential gaps = Poisson arrivals;
     * below 1 burstier, above 1 more regular).
     */
    static ArrivalSchedule rate(double requestsPerSecond, boolean constant, double burstiness, long seed) {
        return new RateSchedule(requestsPerSecond, requestsPerSecond, 1, constant, burstiness, seed);
    }

    /** A rate rising (or falling) linearly from {@code from} to {@code to} requests/s over {@code seconds}, then staying at {@code to}. */
    static ArrivalSchedule ramp(double from, double to, double seconds, boolean constant, double burstiness, long seed) {
        return new RateSchedule(from, to, seconds, constant, burstiness, seed);
    }

    /**
     * Every request at the start (vLLM's request rate inf; with a concurrency cap, the cap is the load). There is
     * no schedule to keep, so lag behind it does not make a run invalid.
     */
    record AllAtOnce() implements ArrivalSchedule {
        @Override
        public long nextOffsetNanos() {
            return 0;
        }

        @Override
        public double nominalRate() {
            return Double.NaN;
        }
    }

    final class RateSchedule implements ArrivalSchedule {
        private final double r0;
        private final double r1;
        private final double rampSeconds;
        private final boolean constant;
        private final double burstiness;
        private final SplittableRandom random;
        private double operational; // Λ(t) of the next arrival: the expected number of arrivals before it
        private boolean first = true;

        RateSchedule(double r0, double r1, double rampSeconds, boolean constant, double burstiness, long seed) {
            this.r0 = r0;
            this.r1 = r1;
            this.rampSeconds = rampSeconds;
            this.constant = constant;
            this.burstiness = burstiness;
            this.random = new SplittableRandom(seed);
        }

        @Override
        public long nextOffsetNanos() {
            if (first) {
                first = false; // the first request goes at the start, as in vLLM
            } else {
                operational += constant ? 1 : Gamma.sample(random, burstiness) / burstiness;
            }
            return Math.round(seconds(operational) * 1e9);
        }

        /** Inverse of Λ(t) = r0·t + (r1 − r0)·t²/(2T) for t ≤ T, continued at rate r1 after T. */
        private double seconds(double lambda) {
            double slope = (r1 - r0) / rampSeconds;
            double lambdaAtEnd = r0 * rampSeconds + slope * rampSeconds * rampSeconds / 2;
            if (lambda >= lambdaAtEnd) return rampSeconds + (lambda - lambdaAtEnd) / r1;
            if (slope == 0) return lambda / r0;
            // the positive root of slope/2·t² + r0·t − λ = 0, written to stay exact when r0 is 0
            return 2 * lambda / (r0 + Math.sqrt(r0 * r0 + 2 * slope * lambda));
        }

        @Override
        public double nominalRate() {
            return r0;
        }
    }

    /** Gamma(shape k, scale 1) variates: Marsaglia and Tsang's method, with the k+1 boost for k < 1. */
    final class Gamma {
        private Gamma() {}

        static double sample(SplittableRandom random, double shape) {
            if (shape < 1) {
                double u = random.nextDouble();
                return sample(random, shape + 1) * Math.pow(u, 1 / shape);
            }
            double d = shape - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
            for (int tries = 0; tries < 1000; tries++) { // acceptance is > 95 %; the bound only guards against a broken RNG
                double x, v;
                do {
                    x = random.nextGaussian();
                    v = 1 + c * x;
                } while (v <= 0);
                v = v * v * v;
                double u = random.nextDouble();
                if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
            }
            return shape; // unreachable in practice: the mean
        }
    }
}
