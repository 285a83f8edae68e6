package dev.mixtral.coordinator;

import java.util.SortedSet;
import java.util.TreeSet;

/**
 * An expert node in the routing table: its cluster identity ({@code id}, unique per incarnation), where
 * its ExpertService listens, the experts it holds in every layer, and the open client to it.
 * {@code extras} are those among {@code experts} that this coordinator had it load while serving
 * (replicas of hot experts, see {@link Rebalancer}), not its placement.
 */
public record RemoteNode(String id, String address, String name, SortedSet<Integer> experts, SortedSet<Integer> extras, NodeClient client) {
    public RemoteNode {
        experts = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(experts));
        extras = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(extras));
    }

    public RemoteNode(String id, String address, String name, SortedSet<Integer> experts, NodeClient client) {
        this(id, address, name, experts, new TreeSet<>(), client);
    }

    /** The same node also computing {@code expert}, an extra one. */
    RemoteNode withExtra(int expert) {
        SortedSet<Integer> e = new TreeSet<>(experts), x = new TreeSet<>(extras);
        e.add(expert);
        x.add(expert);
        return new RemoteNode(id, address, name, e, x, client);
    }

    /** The same node no longer computing its extra {@code expert}. */
    RemoteNode withoutExtra(int expert) {
        if (!extras.contains(expert)) return this;
        SortedSet<Integer> e = new TreeSet<>(experts), x = new TreeSet<>(extras);
        e.remove(expert);
        x.remove(expert);
        return new RemoteNode(id, address, name, e, x, client);
    }

    /** The experts of its placement. */
    public SortedSet<Integer> placement() {
        SortedSet<Integer> p = new TreeSet<>(experts);
        p.removeAll(extras);
        return p;
    }

    @Override
    public String toString() {
        return address + " (" + name + ")";
    }
}
