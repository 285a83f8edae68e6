package dev.mixtral.cli;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.weights.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a model's architecture, hyper-parameters, metadata and tensors (reads only the header).")
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", description = "A .gguf file or a Hugging Face checkpoint directory.") Path path;
    @Option(names = "--json") boolean json;
    @Option(names = "--metadata", description = "Also list every metadata key.") boolean metadata;

    @Override
    public Integer call() {
        try (ModelFiles files = ModelFiles.open(path)) {
            ModelConfig c = files.config();
            long total = files.tensors().stream().mapToLong(ModelFiles.TensorEntry::bytes).sum();
            long experts = files.tensors().stream().filter(t -> t.name().contains("exps") || t.name().contains(".experts.")
                    || t.name().matches("blk\\.\\d+\\.ffn_(gate|up|down)\\.\\d+\\.weight")).mapToLong(ModelFiles.TensorEntry::bytes).sum();
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("path", files.path().toString());
                doc.put("format", files.format());
                doc.put("config", c);
                doc.put("fingerprint", files.fingerprint());
                doc.put("tensor_bytes", total);
                doc.put("expert_bytes", experts);
                doc.put("metadata", files.metadata());
                doc.put("tensors", files.tensors());
                Json.print(doc);
                return 0;
            }
            System.out.printf("%s  (%s)%n", files.path(), files.format());
            System.out.printf("model        %s%n", c.name());
            System.out.printf("architecture Mixtral: %d layers, dim %d, %d heads / %d KV heads (head dim %d), %d experts (top-%d) of hidden %d%n",
                    c.layers(), c.dim(), c.heads(), c.kvHeads(), c.headDim(), c.experts(), c.topK(), c.hidden());
            System.out.printf("             vocab %d, context %d, rope theta %s, rms eps %s, rope pairs %s%n",
                    c.vocab(), c.context(), c.ropeTheta(), c.rmsEps(), c.ropeLayout());
            System.out.printf("weights      %s in %d tensors; experts %s (%.1f%%), dense %s%n", human(total), files.tensors().size(),
                    human(experts), 100.0 * experts / Math.max(1, total), human(total - experts));
            System.out.printf("fingerprint  %s%n", files.fingerprint());
            if (metadata) {
                System.out.println("\nmetadata:");
                files.metadata().forEach((k, v) -> System.out.printf("  %-45s %s%n", k, v));
            }
            System.out.println("\ntensors:");
            for (ModelFiles.TensorEntry t : files.tensors()) {
                System.out.printf("  %-40s %-8s %-22s %s%n", t.name(), t.type(), Arrays.toString(t.shape()), human(t.bytes()));
            }
            return 0;
        }
    }

    static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.1f %s", v, units[u]);
    }
}
