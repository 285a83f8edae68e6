package dev.mixtral.cli;

import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.forward.Generator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Teacher-forced scoring: the top K of the next-token distribution after every input position.")
final class LogitsCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--tokens", required = true, split = ",", paramLabel = "ID,ID,…", description = "Input token ids (include BOS yourself).")
    int[] tokens;
    @Option(names = "--top", defaultValue = "5", paramLabel = "K") int top;
    @Option(names = "--json", description = "Print {\"positions\":[{\"pos\":0,\"top\":[[id, logit],…]},…]} only.") boolean json;

    @Override
    public Integer call() {
        if (top < 1) throw new UserException("--top must be >= 1");
        try (MixtralModel m = model.settings().open()) {
            int vocab = m.config().vocab();
            if (top > vocab) throw new UserException("--top must be <= the vocabulary size " + vocab);
            float[] logits = new Generator(m.transformer(), model.kvType(), model.prefillChunk).score(tokens);
            List<Map<String, Object>> positions = new ArrayList<>();
            for (int pos = 0; pos < tokens.length; pos++) {
                List<Object[]> best = new ArrayList<>();
                for (int id : topIds(logits, pos * vocab, vocab, top)) best.add(new Object[]{id, logits[pos * vocab + id]});
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("pos", pos);
                p.put("top", best);
                positions.add(p);
            }
            if (json) {
                Json.print(Map.of("positions", positions));
            } else {
                for (Map<String, Object> p : positions) {
                    StringBuilder sb = new StringBuilder("pos " + p.get("pos") + ":");
                    for (Object o : (List<?>) p.get("top")) {
                        Object[] pair = (Object[]) o;
                        sb.append(String.format(" %d(%.4f)", (Integer) pair[0], (Float) pair[1]));
                    }
                    System.out.println(sb);
                }
            }
            return 0;
        }
    }

    /** The k highest logits' ids, best first (ties: lower id first). */
    static int[] topIds(float[] logits, int off, int n, int k) {
        Integer[] ids = new Integer[n];
        for (int i = 0; i < n; i++) ids[i] = i;
        Arrays.sort(ids, (a, b) -> {
            int c = Float.compare(logits[off + b], logits[off + a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] r = new int[k];
        for (int i = 0; i < k; i++) r[i] = ids[i];
        return r;
    }
}
