package dev.baton.core;

import java.nio.file.Path;

/**
 * What {@link BatonRecovery#recover} did: it read a copy of member {@code fromNode} of cluster
 * {@code oldClusterId} and wrote {@code to} for member {@code nodeId} of cluster {@code
 * newClusterId}, with the token floor {@code floor} (the new cluster's first token is above it).
 * {@code report} says all of it for the operator, one fact a line (what {@code baton recover}
 * prints).
 */
public record RecoveryResult(
    String oldClusterId,
    String fromNode,
    long floor,
    String newClusterId,
    String nodeId,
    Path to,
    String report) {}
