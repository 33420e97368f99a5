package dev.baton.core.internal;

import dev.baton.core.BatonException;
import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's data directory carries the identity it was created with (cluster id and node id) in
 * {@value #IDENTITY_FILE}. A node refuses a directory that belongs to another cluster or node, and
 * says which, before it touches anything: pointing a node at the wrong directory must never mix two
 * clusters' logs.
 *
 * <p>An empty (or missing) directory is taken only when the node is told why it is empty: it is the
 * first start of a new cluster ({@code bootstrap}), or the node is being added to a running cluster
 * ({@code joining}). A voter that lost its log and started as a fresh member of the full
 * configuration would vote with no memory of what it had acknowledged. Because a {@code bootstrap}
 * left in a shared configuration would disarm that protection, an empty directory is taken under
 * {@code bootstrap} only after {@link BootstrapProbe} found no peer that already holds the
 * cluster's log (see its residual window).
 */
public final class DataDirectory {
  public static final String IDENTITY_FILE = "baton-node.properties";

  private DataDirectory() {}

  private static final Logger LOG = LoggerFactory.getLogger(DataDirectory.class);

  public static void claim(
      File dir, String clusterId, String nodeId, boolean bootstrap, boolean joining) {
    claim(dir, clusterId, nodeId, bootstrap, joining, () -> false);
  }

  /**
   * As {@link #claim(File, String, String, boolean, boolean)}; {@code beforeBootstrap} runs when
   * the directory is empty (or missing) and is about to be taken because {@code bootstrap} is set,
   * before anything is created: it may throw to refuse ({@link BootstrapProbe}, which asks the
   * peers whether the cluster already has a log). It returns true when the cluster already runs
   * (this is a founder that started late): such a founder starts with an empty log, to be sent the
   * log by the leader, as the others may have formed the cluster before the genesis existed. Every
   * other founder starts from the genesis ({@link RaftSeed}).
   */
  public static void claim(
      File dir,
      String clusterId,
      String nodeId,
      boolean bootstrap,
      boolean joining,
      java.util.function.BooleanSupplier beforeBootstrap) {
    Path root = dir.toPath();
    Path identity = root.resolve(IDENTITY_FILE);
    try {
      if (Files.exists(identity)) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(identity, StandardCharsets.UTF_8)) {
          p.load(r);
        }
        String foundCluster = p.getProperty("cluster.id");
        String foundNode = p.getProperty("node.id");
        if (!clusterId.equals(foundCluster)) {
          throw new BatonException(
              "data directory "
                  + root
                  + " belongs to cluster '"
                  + foundCluster
                  + "', not to cluster '"
                  + clusterId
                  + "' (see "
                  + identity
                  + "); refusing to start, nothing was changed");
        }
        if (!nodeId.equals(foundNode)) {
          throw new BatonException(
              "data directory "
                  + root
                  + " belongs to node '"
                  + foundNode
                  + "', not to node '"
                  + nodeId
                  + "' (see "
                  + identity
                  + "); refusing to start, nothing was changed");
        }
        checkFormat(root, identity, p.getProperty("format.version"));
        if (bootstrap) {
          LOG.warn(
              "{}: bootstrap is set but data directory {} already belongs to this node; it is"
                  + " ignored. Remove it from the configuration: if this directory were ever lost,"
                  + " bootstrap would let the node start again with no memory of the log",
              nodeId,
              root);
        }
        return;
      }
      if (Files.isDirectory(root)) {
        try (Stream<Path> entries = Files.list(root)) {
          if (entries.findAny().isPresent()) {
            throw new BatonException(
                "data directory "
                    + root
                    + " is not empty and has no "
                    + IDENTITY_FILE
                    + ": it was not created by Baton; refusing to use it, nothing was changed");
          }
        }
      } else if (Files.exists(root)) {
        throw new BatonException("data directory " + root + " exists and is not a directory");
      }
      if (!bootstrap && !joining) {
        throw new BatonException(
            "data directory "
                + root
                + " is empty (or missing) and node '"
                + nodeId
                + "' was told neither that this is a new cluster nor that it is joining one;"
                + " refusing to start, nothing was changed. If this node lost its disk, it must"
                + " not come back as if new (it would vote with no memory of the log): from a"
                + " running member, 'baton members remove "
                + nodeId
                + "', then start this node with 'joining: true' (BatonNode.Builder.joining(true)),"
                + " then 'baton members add --id "
                + nodeId
                + " --raft <host:port>'. If this is the first start of a new cluster, start every"
                + " member once with 'bootstrap: true' (BatonNode.Builder.bootstrap(true)) and"
                + " remove it afterwards. See docs/operations/disaster-recovery.md");
      }
      boolean lateFounder = bootstrap && beforeBootstrap.getAsBoolean();
      Files.createDirectories(root);
      if (bootstrap && !lateFounder) {
        RaftSeed.writeGenesis(root, clusterId);
      }
      Properties p = new Properties();
      p.setProperty("cluster.id", clusterId);
      p.setProperty("node.id", nodeId);
      p.setProperty("format.version", String.valueOf(BatonStateMachine.FORMAT_VERSION));
      Path tmp = root.resolve(IDENTITY_FILE + ".tmp");
      try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        p.store(w, "Baton node identity: do not edit");
      }
      Files.move(tmp, identity, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new BatonException("cannot use data directory " + root + ": " + e.getMessage(), e);
    }
  }

  /**
   * The data directory's format (its identity file's {@code format.version}) must be one this
   * release reads: a newer one was written by a newer release, whose log and snapshots this code
   * would misread. Refuses, naming both versions; nothing is changed.
   */
  static void checkFormat(Path root, Path identity, String value) {
    int format;
    try {
      format = value == null ? 1 : Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new BatonException(
          "data directory "
              + root
              + ": "
              + identity
              + " has format.version '"
              + value
              + "', which is not a number; refusing to start, nothing was changed");
    }
    if (format > BatonStateMachine.FORMAT_VERSION) {
      throw new BatonException(
          "data directory "
              + root
              + " was written in format version "
              + format
              + " (format.version in "
              + identity
              + "), but this release reads up to version "
              + BatonStateMachine.FORMAT_VERSION
              + ": it was used by a newer Baton. Start it with a release that reads format "
              + format
              + " (COMPATIBILITY.md); refusing to start, nothing was changed");
    }
  }
}
