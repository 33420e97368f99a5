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

/**
 * The node's data directory carries the identity it was created with (cluster id and node id) in
 * {@value #IDENTITY_FILE}. A node refuses a directory that belongs to another cluster or node, and
 * says which, before it touches anything: pointing a node at the wrong directory must never mix two
 * clusters' logs.
 */
public final class DataDirectory {
  public static final String IDENTITY_FILE = "baton-node.properties";

  private DataDirectory() {}

  public static void claim(File dir, String clusterId, String nodeId) {
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
      Files.createDirectories(root);
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
}
