package dev.mixtral.helm;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One rendered pod's main container run as a local process, the way a kubelet would start it: the image's
 * entry point (or the container's command) with the container's args, the image ENV overlaid by the
 * container's resolved env, each volume mount mapped to a local directory, and every pod DNS name the
 * cluster would resolve replaced by the loopback address standing in for that pod.
 */
final class LocalPod implements AutoCloseable {
    final String name;
    final String ip;
    final Container container;
    final Path log;
    private final Process process;

    private LocalPod(String name, String ip, Container container, Path log, Process process) {
        this.name = name;
        this.ip = ip;
        this.container = container;
        this.log = log;
        this.process = process;
    }

    /**
     * @param hosts   DNS name → loopback address of every pod (and Service) the processes may be told about
     * @param scratch where emptyDir volumes are made and the log goes (hostPath volumes are used as they are)
     * @param change  applied to the container's resolved environment (the image's ENV stays under it)
     */
    static LocalPod start(Image image, PodSpec spec, Kubelet.PodFacts pod, Map<String, String> hosts, Path scratch,
                          RenderedCluster.EnvChange change) throws IOException {
        Container c = spec.getContainers().getFirst();
        Map<String, Path> mounts = new LinkedHashMap<>();
        for (VolumeMount vm : c.getVolumeMounts()) mounts.put(vm.getMountPath(), localVolume(volume(spec, vm.getName()), scratch.resolve(pod.name()).resolve(vm.getName())));

        Map<String, String> env = new LinkedHashMap<>(image.env);
        Map<String, String> containerEnv = Kubelet.resolveEnv(c, pod);
        change.accept(pod, containerEnv);
        env.putAll(containerEnv);
        env.replaceAll((k, v) -> localize(v, hosts, mounts));
        List<String> command = new ArrayList<>();
        List<String> entry = c.getCommand() == null || c.getCommand().isEmpty() ? image.entrypoint : c.getCommand();
        command.add(image.file(entry.getFirst()).toString());
        for (String s : entry.subList(1, entry.size())) command.add(localize(Kubelet.expand(s, env), hosts, mounts));
        for (String s : c.getArgs()) command.add(localize(Kubelet.expand(s, env), hosts, mounts));

        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("HOME") && !k.equals("LANG"));
        pb.environment().putAll(env);
        Path log = scratch.resolve(pod.name() + ".log");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        return new LocalPod(pod.name(), pod.podIp(), c, log, p);
    }

    private static Volume volume(PodSpec spec, String name) {
        return spec.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("volume mount " + name + " has no volume in the pod spec"));
    }

    private static Path localVolume(Volume v, Path emptyDir) throws IOException {
        if (v.getHostPath() != null) return Path.of(v.getHostPath().getPath());
        if (v.getEmptyDir() != null) return Files.createDirectories(emptyDir);
        throw new AssertionError("volume " + v.getName() + ": only hostPath and emptyDir are run locally");
    }

    /** Pod names → loopback addresses, container paths → local directories. */
    static String localize(String value, Map<String, String> hosts, Map<String, Path> mounts) {
        String out = value;
        for (var h : hosts.entrySet()) out = out.replace(h.getKey(), h.getValue());
        String mount = null; // the deepest mount the path is under, mapped once
        for (String m : mounts.keySet()) {
            if ((out.equals(m) || out.startsWith(m + "/")) && (mount == null || m.length() > mount.length())) mount = m;
        }
        return mount == null ? out : mounts.get(mount) + out.substring(mount.length());
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Whether the container's probe passes now, tried against this pod's address. */
    boolean probe(Probe probe, HttpClient http) {
        try {
            if (probe.getHttpGet() != null) {
                HTTPGetAction get = probe.getHttpGet();
                int port = ChartRenderTest.resolve(container, get.getPort());
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://" + ip + ":" + port + get.getPath()))
                        .timeout(Duration.ofSeconds(probe.getTimeoutSeconds())).build(), HttpResponse.BodyHandlers.discarding());
                return r.statusCode() >= 200 && r.statusCode() < 400; // the kubelet's rule
            }
            int port = ChartRenderTest.resolve(container, probe.getTcpSocket().getPort());
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(ip, port), probe.getTimeoutSeconds() * 1000);
                return true;
            }
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends SIGTERM, as the kubelet does first when it stops a container; {@link #close} waits for the exit. */
    void terminate() {
        process.destroy();
    }

    /** As the kubelet stops a container: SIGTERM, then SIGKILL after the grace period. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
