package dev.baton.core.internal;

import dev.baton.core.Member;
import dev.baton.core.Timing;
import java.io.File;
import java.time.Duration;
import java.util.List;

/** A node's validated configuration (the public builder makes it). */
public record NodeConfig(
    String clusterId,
    Member self,
    List<Member> members,
    File dataDir,
    String bindHost,
    int bindPort,
    Timing timing,
    Duration operationTimeout,
    RaftSecurity security,
    boolean joining,
    boolean bootstrap,
    Duration bootstrapProbeTimeout,
    long snapshotThreshold,
    Duration failureBackoff) {}
