package dev.baton.core.internal;

import dev.baton.core.TlsConfig;
import java.util.List;

/**
 * How the Raft port tells members from everyone else (docs/operations/deployment.md, "The Raft
 * port"). Chosen explicitly on the builder: there is no default.
 */
public sealed interface RaftSecurity {

  /** Whether connections are authenticated (TLS with member identities). */
  boolean authenticated();

  /**
   * Mutual TLS with certificates from the operator's PKI: a peer's certificate must chain to the
   * trusted certificates and name a current member id (subject CN or a DNS subject-alternative
   * name).
   */
  record Certificates(TlsConfig files) implements RaftSecurity {
    @Override
    public boolean authenticated() {
      return true;
    }
  }

  /**
   * Mutual TLS with one key pair per member derived from a secret every member holds: no PKI. A
   * peer is accepted only if it proves it holds the key derived for a current member id.
   *
   * <p>During a rotation a node also accepts peers that hold one of the {@code accepted} secrets
   * (the old one, or the next one), while it presents the key of {@code secret} itself.
   *
   * @param secret the secret's bytes (never logged)
   * @param source where it came from, for messages (a file name, never the content)
   * @param accepted further secrets whose holders are accepted as members (a rotation)
   */
  record SharedSecret(byte[] secret, String source, List<byte[]> accepted) implements RaftSecurity {
    public SharedSecret(byte[] secret, String source) {
      this(secret, source, List.of());
    }

    public SharedSecret {
      accepted = List.copyOf(accepted);
    }

    /** This secret with {@code more} accepted too. */
    public SharedSecret accepting(List<byte[]> more) {
      List<byte[]> all = new java.util.ArrayList<>(accepted);
      all.addAll(more);
      return new SharedSecret(secret, source, all);
    }

    @Override
    public boolean authenticated() {
      return true;
    }

    @Override
    public String toString() {
      return "SharedSecret[" + source + (accepted.isEmpty() ? "" : ", +" + accepted.size()) + "]";
    }
  }

  /**
   * Plaintext, no peer authentication: anyone who reaches the Raft port can disrupt the cluster.
   */
  record Insecure() implements RaftSecurity {
    @Override
    public boolean authenticated() {
      return false;
    }
  }
}
