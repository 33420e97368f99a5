package dev.baton.core;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What {@link BatonRecovery#recover} is asked to do: write the data directory {@code to} of member
 * {@code nodeId} of a new cluster {@code newClusterId} whose members are {@code newMembers}, from
 * {@code from}, a copy of a surviving member's data directory (read only). The new cluster's first
 * token is above {@code max(last log index of the copy, fenceToken) + margin}; {@code fenceToken}
 * is the highest token any fence holds, read after every old node is stopped (0 if there are no
 * fences). {@code probeTimeout} bounds the check that no old member still answers on its Raft
 * address. See docs/operations/disaster-recovery.md.
 */
public record RecoveryRequest(
    Path from,
    Path to,
    String newClusterId,
    String nodeId,
    List<Member> newMembers,
    long fenceToken,
    long margin,
    Duration probeTimeout) {}
