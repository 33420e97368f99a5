package dev.baton.sidecar.cli;

import dev.baton.core.TlsConfig;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ClusterSecretCredentials;
import dev.baton.sidecar.config.ConfigLoader;
import dev.baton.sidecar.config.SidecarConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * How the CLI finds and authenticates to the cluster: {@code --endpoints}, or {@code --config} with
 * a node's sidecar configuration (its members' control addresses, and its TLS files or its cluster
 * secret), or the environment (BATON_ENDPOINTS, BATON_TLS_CERT, BATON_TLS_KEY, BATON_TLS_CA,
 * BATON_CLUSTER, BATON_CLUSTER_SECRET_FILE).
 */
final class ClientOptions {
  @Option(
      names = {"-e", "--endpoints"},
      split = ",",
      paramLabel = "HOST:PORT",
      description =
          "Control API addresses of one or more nodes (default: $BATON_ENDPOINTS, or the members"
              + " of --config).")
  List<String> endpoints = new ArrayList<>();

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "A node's sidecar config: its members' control addresses and its TLS files.")
  Path config;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate chain.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "Client private key (PKCS#8).")
  Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "PEM", description = "Certificates to trust.")
  Path tlsCa;

  @Option(
      names = "--cluster-secret-file",
      paramLabel = "FILE",
      description =
          "The cluster secret (the nodes' clusterSecretFile), to prove to a cluster without"
              + " certificates that this client holds it; needs --cluster (default:"
              + " $BATON_CLUSTER_SECRET_FILE, or the secret of --config).")
  Path clusterSecretFile;

  @Option(
      names = "--cluster",
      paramLabel = "ID",
      description = "The cluster's id, with --cluster-secret-file (default: $BATON_CLUSTER).")
  String clusterId;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      description = "Deadline of a call with its retries, e.g. 15s (default 15s).",
      converter = DurationConverter.class)
  Duration timeout = Duration.ofSeconds(15);

  /** The endpoints to use, in the order given. */
  List<String> resolveEndpoints() {
    LinkedHashSet<String> all = new LinkedHashSet<>(endpoints);
    if (all.isEmpty() && System.getenv("BATON_ENDPOINTS") != null) {
      for (String e : System.getenv("BATON_ENDPOINTS").split(",")) {
        if (!e.isBlank()) {
          all.add(e.trim());
        }
      }
    }
    if (all.isEmpty() && config != null) {
      SidecarConfig c = ConfigLoader.loadAsClient(config);
      all.add(c.controlListen());
      all.addAll(c.controlAddresses().values());
    }
    if (all.isEmpty()) {
      throw new BatonCommand.UsageError(
          "no endpoints: give --endpoints HOST:PORT[,HOST:PORT...], --config NODE.yaml, or set"
              + " BATON_ENDPOINTS");
    }
    return new ArrayList<>(all);
  }

  TlsConfig resolveTls() {
    Path cert = first(tlsCert, "BATON_TLS_CERT");
    Path key = first(tlsKey, "BATON_TLS_KEY");
    Path ca = first(tlsCa, "BATON_TLS_CA");
    if (cert == null && key == null && ca == null) {
      if (config != null) {
        return ConfigLoader.loadAsClient(config).tls().map(SidecarConfig.Tls::files).orElse(null);
      }
      return null;
    }
    if (cert == null || key == null || ca == null) {
      throw new BatonCommand.UsageError(
          "TLS needs all three of --tls-cert, --tls-key and --tls-ca (or BATON_TLS_CERT,"
              + " BATON_TLS_KEY, BATON_TLS_CA)");
    }
    try {
      return new TlsConfig(cert, key, ca);
    } catch (IllegalArgumentException e) {
      throw new BatonCommand.UsageError(e.getMessage());
    }
  }

  /** The name this CLI proves with a key derived from the cluster secret (in the nodes' logs). */
  static final String CLIENT_NAME = "baton-cli";

  private static Path first(Path option, String env) {
    if (option != null) {
      return option;
    }
    String v = System.getenv(env);
    return v == null || v.isBlank() ? null : Path.of(v);
  }

  /** The cluster-secret credentials given on the command line or in the environment, if any. */
  private ClusterSecretCredentials explicitSecret() {
    Path file = first(clusterSecretFile, "BATON_CLUSTER_SECRET_FILE");
    if (file == null) {
      return null;
    }
    String cluster = clusterId;
    if (cluster == null || cluster.isBlank()) {
      cluster = System.getenv("BATON_CLUSTER");
    }
    if (cluster == null || cluster.isBlank()) {
      throw new BatonCommand.UsageError(
          "--cluster-secret-file needs --cluster ID (or BATON_CLUSTER): the keys are derived from"
              + " the secret and the cluster's id");
    }
    try {
      return ClusterSecretCredentials.read(cluster, file);
    } catch (IllegalArgumentException e) {
      throw new BatonCommand.UsageError(e.getMessage());
    }
  }

  BatonClient client() {
    BatonClient.Builder b =
        BatonClient.builder()
            .endpoints(resolveEndpoints())
            .callTimeout(timeout)
            .attemptTimeout(
                timeout.compareTo(Duration.ofSeconds(6)) < 0 ? timeout : Duration.ofSeconds(6));
    TlsConfig tls = resolveTls();
    ClusterSecretCredentials secret = explicitSecret();
    if (tls != null && secret != null) {
      throw new BatonCommand.UsageError(
          "give either TLS files (--tls-cert, --tls-key, --tls-ca) or --cluster-secret-file, not"
              + " both");
    }
    if (tls == null && secret == null && config != null) {
      try {
        secret = ConfigLoader.loadAsClient(config).controlSecret().orElse(null);
      } catch (IllegalArgumentException e) {
        throw new BatonCommand.UsageError(e.getMessage());
      }
    }
    if (tls != null) {
      b.tls(tls);
    } else if (secret != null) {
      b.clusterSecret(secret, CLIENT_NAME);
    }
    return b.build();
  }
}
