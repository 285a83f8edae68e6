package dev.mixtral.coordinator;

import java.util.SortedSet;

/**
 * An expert node in the routing table: its cluster identity ({@code id}, unique per incarnation), where
 * its ExpertService listens, the experts it holds in every layer, and the open client to it.
 */
public record RemoteNode(String id, String address, String name, SortedSet<Integer> experts, NodeClient client) {
    @Override
    public String toString() {
        return address + " (" + name + ")";
    }
}
