package dev.mixtral.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.HasMetadata;

import io.fabric8.kubernetes.api.model.Pod;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The chart at helm/mixtral-cluster, rendered by the real Helm (helm-java embeds it) into typed Kubernetes objects. */
final class Chart {
    static final String RELEASE = "demo";
    static final String NAMESPACE = "inference";
    /** Rendered as for this Kubernetes version (helm-java's default is 1.20, below the chart's kubeVersion). */
    static final String KUBE_VERSION = "v1.31.0";

    private Chart() {}

    static Path dir() {
        for (Path p : List.of(Path.of("mixtral-cluster"), Path.of("helm", "mixtral-cluster"))) {
            if (Files.isRegularFile(p.resolve("Chart.yaml"))) return p.toAbsolutePath().normalize();
        }
        throw new IllegalStateException("chart not found from " + Path.of("").toAbsolutePath());
    }

    static Path ciValues(String name) {
        return dir().resolve("ci").resolve(name + "-values.yaml");
    }

    static Helm helm() {
        return new Helm(dir());
    }

    /** {@code helm template demo mixtral-cluster -n inference [-f file] [--set k=v …]}: the manifest text. */
    static String template(Path valuesFile, Map<String, Object> sets) {
        TemplateCommand t = helm().template().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion(KUBE_VERSION);
        if (valuesFile != null) t = t.withValuesFile(valuesFile);
        for (var e : sets.entrySet()) t = t.set(e.getKey(), e.getValue());
        return t.call();
    }

    /**
     * {@code helm install --dry-run} without a cluster: what Helm would print, with the hooks ({@code helm test}
     * pods, which {@code template} leaves out here) and NOTES.txt.
     */
    static String dryRunInstall(Path valuesFile, Map<String, Object> sets) {
        InstallCommand i = helm().install().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion(KUBE_VERSION).dryRun().clientOnly();
        if (valuesFile != null) i = i.withValuesFile(valuesFile);
        for (var e : sets.entrySet()) i = i.set(e.getKey(), e.getValue());
        return i.call().getOutput();
    }

    /**
     * The {@code helm test} hook pod as Helm renders it. helm-java returns manifests without hooks, so this renders
     * a copy of the chart with one more template that includes the pod's named template, its hook annotation
     * renamed so Helm keeps it in the manifest (and named back here).
     */
    static Pod testPod(Path valuesFile, Map<String, Object> sets) {
        Path copy;
        try {
            copy = Files.createTempDirectory("chart-hooks");
            try (var walk = Files.walk(dir())) {
                for (Path p : walk.toList()) {
                    Path target = copy.resolve(dir().relativize(p).toString());
                    if (Files.isDirectory(p)) Files.createDirectories(target);
                    else Files.copy(p, target);
                }
            }
            Files.writeString(copy.resolve("templates/zz-test-hooks-as-manifest.yaml"),
                    "{{ include \"mixtral.testCompletionPod\" . | replace \"helm.sh/hook\" \"" + RENAMED_HOOK + "\" }}\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            TemplateCommand t = new Helm(copy).template().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion(KUBE_VERSION);
            if (valuesFile != null) t = t.withValuesFile(valuesFile);
            for (var e : sets.entrySet()) t = t.set(e.getKey(), e.getValue());
            Pod pod = new Rendered(KubernetesObjects.parse(t.call())).one(Pod.class, "-test-completion");
            Map<String, String> annotations = new LinkedHashMap<>();
            pod.getMetadata().getAnnotations().forEach((k, v) -> annotations.put(k.replace(RENAMED_HOOK, "helm.sh/hook"), v));
            pod.getMetadata().setAnnotations(annotations);
            return pod;
        } finally {
            Image.deleteQuietly(copy);
        }
    }

    private static final String RENAMED_HOOK = "chart-test.mixtral.dev/hook";

    /** The part of {@link #dryRunInstall} output between {@code start} and the next of {@code ends}. */
    static String section(String output, String start, String... ends) {
        int from = output.indexOf(start);
        if (from < 0) throw new AssertionError("no " + start + " in:\n" + output);
        from += start.length();
        int to = output.length();
        for (String end : ends) {
            int at = output.indexOf(end, from);
            if (at >= 0) to = Math.min(to, at);
        }
        return output.substring(from, to);
    }

    static Rendered render(Path valuesFile, Map<String, Object> sets) {
        return new Rendered(KubernetesObjects.parse(template(valuesFile, sets)));
    }

    static Rendered render(Path valuesFile) {
        return render(valuesFile, Map.of());
    }

    /** Ordered, for readable --set lists in tests. */
    static Map<String, Object> sets(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }

    /** The objects of one rendering, looked up by kind and name. */
    record Rendered(List<HasMetadata> objects) {
        <T extends HasMetadata> List<T> all(Class<T> type) {
            return objects.stream().filter(type::isInstance).map(type::cast).toList();
        }

        <T extends HasMetadata> T one(Class<T> type, String nameSuffix) {
            List<T> found = all(type).stream().filter(o -> o.getMetadata().getName().endsWith(nameSuffix)).toList();
            if (found.size() != 1) throw new AssertionError("expected one " + type.getSimpleName() + " named *" + nameSuffix + ", found " + found.size());
            return found.getFirst();
        }
    }
}
