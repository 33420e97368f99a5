package dev.baton.sidecar.config;

import dev.baton.core.ClusterSecret;
import dev.baton.core.TlsConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * How the Raft port and the control API are secured (docs/sidecar-config.md): the {@code tls:}
 * section and the top-level keys {@code clusterSecretFile}, {@code clusterSecretEnv}, {@code
 * acceptClusterSecretFiles} and {@code insecure}. Every problem names the file, the line and the
 * key; a secret's content never appears in a message.
 */
final class SecuritySection {
  private SecuritySection() {}

  /**
   * The parsed settings.
   *
   * @param tls the tls section, when it is given and complete
   * @param raftSecurity how the Raft port is secured, or null on a problem
   * @param acceptedSecrets the other secrets accepted during a rotation
   */
  record Parsed(
      Optional<SidecarConfig.Tls> tls,
      SidecarConfig.RaftSecurity raftSecurity,
      List<Path> acceptedSecrets) {}

  static Parsed parse(Yaml yaml, Yaml.Section root, Path base) {
    Optional<SidecarConfig.Tls> tls = tls(yaml, root.section("tls"), base);
    SidecarConfig.RaftSecurity raftSecurity = raftSecurity(yaml, root, tls, base);
    List<Path> acceptedSecrets = acceptedSecrets(yaml, root, raftSecurity, base);
    return new Parsed(tls, raftSecurity, acceptedSecrets);
  }

  private static Optional<SidecarConfig.Tls> tls(Yaml yaml, Yaml.Section t, Path base) {
    if (!t.present()) {
      return Optional.empty();
    }
    t.allow("certificateChain", "privateKey", "trustedCertificates", "raft", "authorizedClients");
    Path cert = file(yaml, t, "certificateChain", "this node's certificate chain (PEM)", base);
    Path key = file(yaml, t, "privateKey", "this node's private key (PEM, PKCS#8)", base);
    Path ca = file(yaml, t, "trustedCertificates", "the certificates to trust (PEM)", base);
    boolean raft = t.bool("raft", true);
    Set<String> authorized = new LinkedHashSet<>(t.strings("authorizedClients"));
    if (cert == null || key == null || ca == null) {
      return Optional.empty();
    }
    return Optional.of(new SidecarConfig.Tls(new TlsConfig(cert, key, ca), raft, authorized));
  }

  /**
   * Secure by default: the Raft port must be protected by TLS or a cluster secret, or the file must
   * say {@code insecure: true}. Anyone who can reach an unprotected Raft port can append entries
   * and reconfigure the cluster, so a forgotten setting must not silently mean "open".
   */
  private static SidecarConfig.RaftSecurity raftSecurity(
      Yaml yaml, Yaml.Section root, Optional<SidecarConfig.Tls> tls, Path base) {
    List<String> chosen = new ArrayList<>();
    SidecarConfig.RaftSecurity security = null;
    boolean tlsRaft = root.section("tls").present() && root.section("tls").bool("raft", true);
    if (tlsRaft) {
      chosen.add("tls");
      security = new SidecarConfig.RaftSecurity.Certificates();
    }
    if (root.has("clusterSecretFile")) {
      chosen.add("clusterSecretFile");
      Path f = file(yaml, root, "clusterSecretFile", "a file holding the cluster secret", base);
      if (f != null) {
        security = new SidecarConfig.RaftSecurity.SecretFile(f);
        secretWeakness(f)
            .ifPresent(
                w ->
                    yaml.problem(
                        root.valueNode("clusterSecretFile"),
                        "clusterSecretFile",
                        "the secret in file "
                            + f
                            + " is too weak: "
                            + w
                            + " (generate one with: openssl rand -base64 32 > "
                            + f
                            + ")"));
      }
    }
    if (root.has("clusterSecretEnv")) {
      chosen.add("clusterSecretEnv");
      String var = root.string("clusterSecretEnv").orElse("");
      if (!var.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        yaml.problem(
            root.valueNode("clusterSecretEnv"),
            "clusterSecretEnv",
            "'" + var + "' is not an environment variable name");
      } else {
        yaml.secretVariable(var);
        if (System.getenv(var) == null || System.getenv(var).isBlank()) {
          yaml.problem(
              root.valueNode("clusterSecretEnv"),
              "clusterSecretEnv",
              "environment variable " + var + " is not set (it must hold the cluster secret)");
        } else {
          security = new SidecarConfig.RaftSecurity.SecretEnv(var);
          ClusterSecret.weakness(System.getenv(var).trim().getBytes(StandardCharsets.UTF_8))
              .ifPresent(
                  w ->
                      yaml.problem(
                          root.valueNode("clusterSecretEnv"),
                          "clusterSecretEnv",
                          "the secret in environment variable "
                              + var
                              + " is too weak: "
                              + w
                              + " (generate one with: openssl rand -base64 32)"));
        }
      }
    }
    boolean insecure = root.bool("insecure", false);
    if (insecure) {
      chosen.add("insecure");
      security = new SidecarConfig.RaftSecurity.Insecure();
    }
    if (chosen.size() > 1) {
      yaml.problem(
          root.node(),
          "insecure",
          "the Raft port can be secured one way only, but the file sets " + chosen + ": keep one");
      return null;
    }
    if (insecure && root.section("tls").present()) {
      // The control API's TLS and authorizedClients would only look like protection: through the
      // plaintext Raft port anyone can write reserved keys, add a member or request a switch.
      yaml.problem(
          root.valueNode("insecure"),
          "insecure",
          "insecure: true leaves the Raft port open to anyone who can reach it (they can write"
              + " reserved baton/ keys, add themselves as a member and request a switch), so a"
              + " tls section for the control API would only look secure: drop insecure and secure"
              + " the Raft port too (tls.raft: true, or clusterSecretFile), or drop the tls"
              + " section");
      return null;
    }
    if (chosen.isEmpty()) {
      yaml.problem(
          root.node(),
          "clusterSecretFile",
          "the Raft port would be open to anyone who can reach it (an outsider could append"
              + " entries and reconfigure the cluster): set clusterSecretFile (a file, readable"
              + " only by the sidecar, with at least 32 random bytes: openssl rand -base64 32),"
              + " clusterSecretEnv (the name of an environment variable holding it), a tls section"
              + " whose certificates name each member id, or insecure: true (a trusted machine"
              + " only: tests and demos)");
    }
    return security;
  }

  /**
   * {@code acceptClusterSecretFiles}: during a rotation, the other secret's file (the old one, or
   * the next one); each must be readable and strong, and only a cluster secret can be rotated.
   */
  private static List<Path> acceptedSecrets(
      Yaml yaml, Yaml.Section root, SidecarConfig.RaftSecurity security, Path base) {
    List<String> names = root.strings("acceptClusterSecretFiles");
    if (names.isEmpty()) {
      return List.of();
    }
    if (!(security instanceof SidecarConfig.RaftSecurity.SecretFile)
        && !(security instanceof SidecarConfig.RaftSecurity.SecretEnv)) {
      yaml.problem(
          root.valueNode("acceptClusterSecretFiles"),
          "acceptClusterSecretFiles",
          "is for rotating a cluster secret: it needs clusterSecretFile or clusterSecretEnv");
      return List.of();
    }
    List<Path> out = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      Path f = base.resolve(names.get(i));
      String where = "acceptClusterSecretFiles[" + i + "]";
      if (!Files.isReadable(f)) {
        yaml.problem(
            root.valueNode("acceptClusterSecretFiles"), where, "file " + f + " is not readable");
        continue;
      }
      Optional<String> weakness = secretWeakness(f);
      if (weakness.isPresent()) {
        yaml.problem(
            root.valueNode("acceptClusterSecretFiles"),
            where,
            "the secret in file "
                + f
                + " is too weak: "
                + weakness.get()
                + " (generate one with: openssl rand -base64 32 > "
                + f
                + ")");
        continue;
      }
      out.add(f);
    }
    return List.copyOf(out);
  }

  /**
   * What makes the secret in {@code file} too weak (its content never appears), read as the node
   * reads it: trailing line ends are not part of it.
   */
  private static Optional<String> secretWeakness(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      return Optional.of("it cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    int end = bytes.length;
    while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r')) {
      end--;
    }
    return ClusterSecret.weakness(Arrays.copyOf(bytes, end));
  }

  static Path file(Yaml yaml, Yaml.Section t, String key, String what, Path base) {
    String v = t.required(key, what);
    if (v == null) {
      return null;
    }
    Path p = base.resolve(v);
    if (!Files.isReadable(p)) {
      // The path only: the file may hold a private key, whose content never goes to a message.
      yaml.problem(t.valueNode(key), Yaml.join(t.path(), key), "file " + p + " is not readable");
      return null;
    }
    return p;
  }
}
