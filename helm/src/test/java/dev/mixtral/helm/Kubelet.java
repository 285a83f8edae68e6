package dev.mixtral.helm;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the kubelet does to a container's environment and arguments before it starts it, as far as the
 * chart uses it: downward-API fields ({@code metadata.name}, {@code metadata.namespace}, {@code status.podIP},
 * {@code metadata.labels['…']}, the StatefulSet controller's {@code apps.kubernetes.io/pod-index}), and
 * {@code $(VAR)} expansion from variables defined earlier ({@code $$} escapes a dollar; unknown references stay).
 */
final class Kubelet {
    /** The facts about one pod that the downward API exposes. */
    record PodFacts(String name, String namespace, String podIp, Map<String, String> labels) {}

    private static final Pattern LABEL_FIELD = Pattern.compile("metadata\\.labels\\['([^']+)']");
    private static final Pattern REFERENCE = Pattern.compile("\\$\\$|\\$\\(([A-Za-z_][A-Za-z0-9_.-]*)\\)");

    private Kubelet() {}

    /** Pod {@code ordinal} of a StatefulSet, as its controller creates it (Kubernetes 1.28+ labels the ordinal). */
    static PodFacts statefulSetPod(StatefulSet sts, int ordinal, String podIp) {
        Map<String, String> labels = new HashMap<>(sts.getSpec().getTemplate().getMetadata().getLabels());
        labels.put("apps.kubernetes.io/pod-index", Integer.toString(ordinal));
        labels.put("statefulset.kubernetes.io/pod-name", sts.getMetadata().getName() + "-" + ordinal);
        return new PodFacts(sts.getMetadata().getName() + "-" + ordinal, Chart.NAMESPACE, podIp, labels);
    }

    /** A pod of a Deployment (no stable name: a random suffix). */
    static PodFacts deploymentPod(Deployment d, String suffix, String podIp) {
        return new PodFacts(d.getMetadata().getName() + "-" + suffix, Chart.NAMESPACE, podIp, d.getSpec().getTemplate().getMetadata().getLabels());
    }

    /** The container's environment as the process sees it, in declaration order. Secrets are not available here. */
    static Map<String, String> resolveEnv(Container c, PodFacts pod) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar e : c.getEnv()) {
            if (e.getValueFrom() == null) {
                env.put(e.getName(), expand(e.getValue() == null ? "" : e.getValue(), env));
            } else if (e.getValueFrom().getFieldRef() != null) {
                env.put(e.getName(), field(e.getValueFrom().getFieldRef().getFieldPath(), pod));
            } else {
                throw new IllegalArgumentException("env " + e.getName() + ": only fieldRef is resolved here, got " + e.getValueFrom());
            }
        }
        return env;
    }

    static String expand(String text, Map<String, String> env) {
        Matcher m = REFERENCE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement = m.group().equals("$$") ? "$" : env.getOrDefault(m.group(1), m.group());
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String field(String path, PodFacts pod) {
        Matcher label = LABEL_FIELD.matcher(path);
        if (label.matches()) {
            String v = pod.labels().get(label.group(1));
            if (v == null) throw new IllegalArgumentException("the pod has no label " + label.group(1));
            return v;
        }
        return switch (path) {
            case "metadata.name" -> pod.name();
            case "metadata.namespace" -> pod.namespace();
            case "status.podIP" -> pod.podIp();
            default -> throw new IllegalArgumentException("unsupported downward-API field " + path);
        };
    }
}
