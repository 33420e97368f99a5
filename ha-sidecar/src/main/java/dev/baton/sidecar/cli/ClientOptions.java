package dev.baton.sidecar.cli;

import dev.baton.core.TlsConfig;
import dev.baton.core.control.BatonClient;
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
 * a node's sidecar configuration (its members' control addresses and its TLS files), or the
 * environment (BATON_ENDPOINTS, BATON_TLS_CERT, BATON_TLS_KEY, BATON_TLS_CA).
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
      SidecarConfig c = ConfigLoader.load(config);
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
        return ConfigLoader.load(config).tls().map(SidecarConfig.Tls::files).orElse(null);
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

  private static Path first(Path option, String env) {
    if (option != null) {
      return option;
    }
    String v = System.getenv(env);
    return v == null || v.isBlank() ? null : Path.of(v);
  }

  BatonClient client() {
    BatonClient.Builder b =
        BatonClient.builder()
            .endpoints(resolveEndpoints())
            .callTimeout(timeout)
            .attemptTimeout(
                timeout.compareTo(Duration.ofSeconds(6)) < 0 ? timeout : Duration.ofSeconds(6));
    TlsConfig tls = resolveTls();
    if (tls != null) {
      b.tls(tls);
    }
    return b.build();
  }
}
