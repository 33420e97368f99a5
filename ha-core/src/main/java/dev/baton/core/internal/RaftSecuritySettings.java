package dev.baton.core.internal;

import dev.baton.core.ClusterSecret;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * One job: turns the builder's Raft-port settings (the mode chosen, a cluster secret file, the
 * secrets accepted during a rotation) into the node's {@link RaftSecurity}: reads the secret files
 * and refuses a weak secret or an accepted one without a cluster secret, naming the setting and
 * where the secret came from, never its content. Called by {@code BatonNode.Builder.build()}.
 */
public final class RaftSecuritySettings {
  private RaftSecuritySettings() {}

  /**
   * The node's Raft security.
   *
   * @param chosen the mode set on the builder (null when a secret file was given instead)
   * @param secretFile the cluster secret's file, or null
   * @param acceptedSecrets readers of the secrets also accepted from peers (a rotation)
   * @return the security, or null when none was chosen (which {@link NodeConfig#validated} refuses,
   *     naming the three ways to choose)
   * @throws IllegalArgumentException naming the setting that is wrong
   */
  public static @Nullable RaftSecurity resolve(
      @Nullable RaftSecurity chosen,
      @Nullable Path secretFile,
      List<Supplier<RaftSecurity.SharedSecret>> acceptedSecrets) {
    RaftSecurity raftSecurity = chosen;
    if (secretFile != null) {
      raftSecurity = readSecret(secretFile, "clusterSecret");
    }
    if (!acceptedSecrets.isEmpty()) {
      if (!(raftSecurity instanceof RaftSecurity.SharedSecret own)) {
        throw new IllegalArgumentException(
            "acceptClusterSecret is for rotating a cluster secret: set clusterSecret(...) too");
      }
      List<byte[]> accepted = new ArrayList<>();
      for (Supplier<RaftSecurity.SharedSecret> read : acceptedSecrets) {
        RaftSecurity.SharedSecret a = read.get();
        checkStrength("acceptClusterSecret", a);
        accepted.add(a.secret());
      }
      raftSecurity = own.accepting(accepted);
    }
    if (raftSecurity instanceof RaftSecurity.SharedSecret s) {
      checkStrength("clusterSecret", s);
    }
    return raftSecurity;
  }

  /** The secret in {@code file}, for the builder setting {@code setting} (named in errors). */
  public static RaftSecurity.SharedSecret readSecret(Path file, String setting) {
    return new RaftSecurity.SharedSecret(
        ClusterSecret.read(file, setting), "file " + file.toString());
  }

  private static void checkStrength(String setting, RaftSecurity.SharedSecret s) {
    Optional<String> weakness = ClusterSecret.weakness(s.secret());
    if (weakness.isPresent()) {
      // Never the secret itself: what is wrong with it, and where it came from.
      throw new IllegalArgumentException(
          setting
              + " ("
              + s.source()
              + "): "
              + weakness.get()
              + ". The secret is a root credential, guessable offline when weak: generate"
              + " one with: openssl rand -base64 32");
    }
  }
}
