package dev.mixtral.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A timed trace to replay: JSONL with {@code "timestamp"} in milliseconds from the trace's start (Mooncake's
 * trace convention) and either the request's {@code "prompt"}/{@code "messages"} or its
 * {@code "input_length"} (a synthetic prompt of that many tokens); {@code "output_length"} or
 * {@code "max_tokens"} sets the output. Requests are sent at their timestamps, in time order.
 */
final class TraceReplay {
    private record Item(long offsetNanos, Workload.Entry entry, int inputLength) {}

    private final List<Item> items;

    private TraceReplay(List<Item> items) {
        this.items = items;
    }

    static TraceReplay read(Path file) {
        ObjectMapper json = new ObjectMapper();
        List<Item> items = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (line.isBlank()) continue;
                String where = file + " line " + n;
                JsonNode node;
                try {
                    node = json.readTree(line);
                } catch (IOException e) {
                    throw new IllegalArgumentException(where + ": not JSON: " + e.getMessage());
                }
                if (!node.path("timestamp").isNumber() || node.get("timestamp").asDouble() < 0) {
                    throw new IllegalArgumentException(where + ": needs a numeric 'timestamp' ≥ 0 (milliseconds from the trace's start)");
                }
                long offset = Math.round(node.get("timestamp").asDouble() * 1e6);
                if (node.path("input_length").isInt() && !node.has("prompt") && !node.has("messages")) {
                    int len = node.get("input_length").asInt();
                    if (len < 1) throw new IllegalArgumentException(where + ": 'input_length' must be ≥ 1");
                    int out = node.path("output_length").asInt(node.path("max_tokens").asInt(0));
                    items.add(new Item(offset, new Workload.Entry(null, null, out, len), len));
                } else {
                    items.add(new Item(offset, Workload.entry(node, where), 0));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (items.isEmpty()) throw new IllegalArgumentException(file + ": the trace has no requests");
        items.sort(Comparator.comparingLong(Item::offsetNanos));
        long first = items.getFirst().offsetNanos();
        List<Item> shifted = items.stream().map(i -> new Item(i.offsetNanos() - first, i.entry(), i.inputLength())).toList();
        return new TraceReplay(shifted);
    }

    int size() {
        return items.size();
    }

    double spanSeconds() {
        return items.getLast().offsetNanos() / 1e9;
    }

    ArrivalSchedule schedule() {
        return new ArrivalSchedule() {
            private int next;

            @Override
            public long nextOffsetNanos() {
                return next < items.size() ? items.get(next++).offsetNanos() : -1;
            }

            @Override
            public double nominalRate() {
                return spanSeconds() > 0 ? (items.size() - 1) / spanSeconds() : Double.NaN;
            }
        };
    }

    /** The requests; entries without a prompt get synthetic words, without an output length the default. */
    Workload workload(LengthDistribution defaultOutput, long seed) {
        return index -> {
            Item item = items.get(Math.floorMod(index, items.size()));
            Workload.Entry e = item.entry();
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + index);
            int out = e.maxTokens() > 0 ? e.maxTokens() : defaultOutput.sample(random);
            if (e.prompt() == null && e.messages() == null) {
                RequestSpec words = Workload.synthetic(new LengthDistribution(LengthDistribution.Kind.FIXED, item.inputLength(), 0),
                        new LengthDistribution(LengthDistribution.Kind.FIXED, out, 0), seed).spec(index);
                return words;
            }
            return new RequestSpec(index, e.prompt(), e.messages(), out, e.approxInputTokens(), random.nextLong() & Long.MAX_VALUE);
        };
    }
}
