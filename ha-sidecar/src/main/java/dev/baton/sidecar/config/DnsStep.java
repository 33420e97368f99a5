package dev.baton.sidecar.config;

import dev.baton.dns.DnsConverger;
import dev.baton.dns.DnsSwitch;
import dev.baton.dns.TsigKey;
import io.micrometer.core.instrument.Tags;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * {@code type: dns}: points names at this node with RFC 2136 updates signed with TSIG, behind a
 * fence record compared-and-set on the token, and checks the answer on the verification servers
 * ({@link DnsSwitch}). One section serves every node: each name's {@code values} says what it
 * points to when that member is active. The schema, with an example, is in docs/sidecar-config.md.
 */
final class DnsStep implements StepType {
  static final DnsStep TYPE = new DnsStep();

  private DnsStep() {}

  @Override
  public String name() {
    return "dns";
  }

  @Override
  public List<String> keys() {
    return List.of(
        "server",
        "zone",
        "names",
        "fenceRecord",
        "ttl",
        "tsig",
        "verify",
        "queryTimeout",
        "attempts",
        "retryBackoff",
        "verifyTimeout",
        "operationTimeout",
        "transport",
        "mode",
        "convergeBackoff",
        "convergeMaxBackoff",
        "convergeRecheckInterval");
  }

  private record Target(String name, String type, List<String> values) {}

  @Override
  public Built build(String stepName, Yaml.Section step, Scope scope) {
    Yaml yaml = step.yaml();
    int before = yaml.problems().size();
    Optional<String> server = step.hostPort("server");
    if (server.isEmpty() && !step.has("server")) {
      step.required("server", "host:port of the zone's primary server, which takes the updates");
    }
    String zone = step.required("zone", "the zone the names are in, e.g. mp.example.com");

    List<Target> mine = new ArrayList<>();
    List<Yaml.Section> names = step.sections("names");
    if (names.isEmpty() && !step.has("names")) {
      step.required("names", "the names to point at the active node (name, type, values)");
    }
    for (Yaml.Section n : names) {
      n.allow("name", "type", "values");
      String name = n.required("name", "the name, relative to the zone or absolute with a dot");
      String type = n.string("type").orElse("A").toUpperCase(Locale.ROOT);
      if (!List.of("A", "AAAA", "CNAME").contains(type)) {
        n.report("type", "'" + type + "' is not allowed; use A, AAAA or CNAME");
        continue;
      }
      Yaml.Section values = n.section("values");
      if (!values.present()) {
        n.required(
            "values", "what the name points to when each member is active, e.g. n1: 10.0.1.5");
        continue;
      }
      for (String member : values.keys()) {
        if (!scope.memberIds().contains(member)) {
          values.report(
              member,
              "'" + member + "' is not a member; members are " + new TreeSet<>(scope.memberIds()));
          continue;
        }
        Optional<List<String>> v = values.words(member);
        if (v.isEmpty()) {
          continue;
        }
        for (String value : v.get()) {
          String problem = checkValue(type, value);
          if (problem != null) {
            values.report(member, problem);
          }
        }
        if (type.equals("CNAME") && v.get().size() != 1) {
          values.report(member, "a CNAME points to exactly one name");
        }
        if (member.equals(scope.nodeId()) && name != null) {
          mine.add(new Target(name, type, v.get()));
        }
      }
      if (scope.eligible() && !values.keys().contains(scope.nodeId())) {
        yaml.problem(
            values.node(),
            values.path(),
            "has no value for this node '"
                + scope.nodeId()
                + "': a node that may become active points every name at itself (a witness"
                + " needs none)");
      }
    }

    // A node that never becomes active and has no value here (a witness) never signs an update:
    // the key's form is checked, but the key file need not exist on its host.
    TsigKey key = tsig(step, scope.eligible() || !mine.isEmpty());
    Duration ttl = step.duration("ttl").orElse(Duration.ofSeconds(30));
    Yaml.Section verify = step.section("verify");
    verify.allow("servers", "zoneNameServers", "quorum");
    List<String> verifyServers = new ArrayList<>();
    for (String a : verify.strings("servers")) {
      int colon = a.lastIndexOf(':');
      if (colon <= 0 || !a.substring(colon + 1).matches("\\d{1,5}")) {
        verify.report("servers", "'" + a + "' is not host:port, e.g. 10.0.0.53:53");
      } else {
        verifyServers.add(a);
      }
    }
    int zoneNameServersPort =
        verify.has("zoneNameServers") ? verify.integer("zoneNameServers", 53, 1, 65535) : -1;
    int quorum = quorum(verify, verifyServers.size(), zoneNameServersPort > 0);
    String transport = step.string("transport").orElse("tcp");
    if (!transport.equals("tcp") && !transport.equals("udp")) {
      step.report("transport", "'" + transport + "' is not allowed; use tcp or udp");
    }
    Optional<String> fenceRecord = step.string("fenceRecord");
    Optional<Duration> queryTimeout = step.duration("queryTimeout");
    OptionalInt attempts =
        step.has("attempts")
            ? OptionalInt.of(step.integer("attempts", 3, 1, 20))
            : OptionalInt.empty();
    Optional<Duration> retryBackoff = step.duration("retryBackoff");
    Optional<Duration> verifyTimeout = step.duration("verifyTimeout");
    Optional<Duration> operationTimeout = step.duration("operationTimeout");
    String mode = step.string("mode").orElse("wait");
    if (!mode.equals("wait") && !mode.equals("converge")) {
      step.report(
          "mode",
          "'"
              + mode
              + "' is not allowed; use wait (the activation waits for the name, the default) or"
              + " converge (the activation goes ahead, the name follows in the background)");
    }
    Duration convergeBackoff = step.duration("convergeBackoff").orElse(Duration.ofSeconds(1));
    Duration convergeMaxBackoff =
        step.duration("convergeMaxBackoff").orElse(Duration.ofSeconds(30));
    Duration convergeRecheck =
        step.duration("convergeRecheckInterval")
            .orElse(Duration.ofSeconds(DnsConverger.DEFAULT_RECHECK_SECONDS));
    if (!mode.equals("converge")) {
      for (String k : List.of("convergeBackoff", "convergeMaxBackoff", "convergeRecheckInterval")) {
        if (step.has(k)) {
          step.report(k, "applies only with mode: converge (mode is " + mode + ")");
        }
      }
    }

    if (yaml.problems().size() > before) {
      return null;
    }
    if (mine.isEmpty()) {
      return null; // a witness: nothing to point here
    }
    DnsSwitch.Builder b = DnsSwitch.builder().name(stepName).zone(zone).ttl(ttl).tsig(key);
    String s = server.orElseThrow();
    int colon = s.lastIndexOf(':');
    b.server(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
    for (Target t : mine) {
      if (t.type().equals("CNAME")) {
        b.cname(t.name(), t.values().get(0));
      } else {
        b.address(t.name(), t.values().toArray(String[]::new));
      }
    }
    fenceRecord.ifPresent(b::fenceRecord);
    for (String v : verifyServers) {
      int c = v.lastIndexOf(':');
      b.verifyOn(v.substring(0, c), Integer.parseInt(v.substring(c + 1)));
    }
    if (zoneNameServersPort > 0) {
      b.verifyOnZoneNameServers(zoneNameServersPort);
    }
    if (quorum == QUORUM_MAJORITY) {
      b.verifyQuorumMajority();
    } else if (quorum > 0) {
      b.verifyQuorum(quorum);
    }
    queryTimeout.ifPresent(b::queryTimeout);
    attempts.ifPresent(b::attempts);
    retryBackoff.ifPresent(b::retryBackoff);
    verifyTimeout.ifPresent(b::verifyTimeout);
    operationTimeout.ifPresent(b::operationTimeout);
    b.tcp(transport.equals("tcp"));
    try {
      DnsSwitch dns = b.build();
      if (!mode.equals("converge")) {
        return new Built(dns);
      }
      DnsConverger converger =
          DnsConverger.of(dns, convergeBackoff, convergeMaxBackoff, convergeRecheck);
      NodeService service =
          NodeService.of(
              "dns step '"
                  + stepName
                  + "': keeps "
                  + String.join(", ", dns.names())
                  + " pointed at this node while active (mode converge)",
              node -> {
                converger.bindTo(
                    scope.node().meterRegistry(),
                    Tags.of("baton_cluster", node.clusterId(), "baton_node", node.id()));
                return converger;
              });
      return new Built(converger, List.of(service));
    } catch (IllegalArgumentException e) {
      // The builder lists each problem prefixed with its setting.
      yaml.problem(step.node(), step.path(), e.getMessage());
      return null;
    }
  }

  private static final int QUORUM_ALL = -1;
  private static final int QUORUM_MAJORITY = -2;

  /**
   * {@code verify.quorum}: how many verification servers must show the change. A whole number from
   * 1 to the number of servers, {@code all} (the default) or {@code majority}.
   */
  private static int quorum(Yaml.Section verify, int servers, boolean fromNsRecords) {
    Optional<String> v = verify.string("quorum");
    if (v.isEmpty()) {
      return QUORUM_ALL;
    }
    String q = v.get().trim();
    if (q.equals("all")) {
      return QUORUM_ALL;
    }
    if (q.equals("majority")) {
      return QUORUM_MAJORITY;
    }
    int n;
    try {
      n = Integer.parseInt(q);
    } catch (NumberFormatException e) {
      verify.report(
          "quorum",
          "'" + q + "' is not allowed; use a whole number of servers (1 or more), all or majority");
      return QUORUM_ALL;
    }
    int count = fromNsRecords ? Integer.MAX_VALUE : servers == 0 ? 1 : servers;
    if (n < 1) {
      verify.report(
          "quorum", n + " is not allowed: at least 1 server must show the change (or: all)");
    } else if (n > count) {
      verify.report(
          "quorum",
          n
              + " is more than the "
              + count
              + (servers == 0
                  ? " verification server (the primary; verify.servers is not set)"
                  : " servers in verify.servers"));
    }
    return n;
  }

  private static String checkValue(String type, String value) {
    boolean v4 = value.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    boolean v6 = value.contains(":") && value.matches("[0-9A-Fa-f:.]+");
    return switch (type) {
      case "A" -> v4 ? null : "'" + value + "' is not an IPv4 address (type A)";
      case "AAAA" -> v6 ? null : "'" + value + "' is not an IPv6 address (type AAAA)";
      default -> v4 || v6 ? "'" + value + "' is an address; a CNAME points to a name" : null;
    };
  }

  /**
   * The TSIG key: from a BIND key file, or name and algorithm with the secret in the environment.
   */
  private static TsigKey tsig(Yaml.Section step, boolean read) {
    Yaml.Section t = step.section("tsig");
    if (!t.present()) {
      t.yaml()
          .problem(
              t.node() != null ? t.node() : step.node(),
              t.path(),
              "is required: the TSIG key the updates are signed with (keyFile: a BIND key file,"
                  + " as tsig-keygen writes it; or name, algorithm and secretEnv)");
      return null;
    }
    t.allow("keyFile", "name", "algorithm", "secretFile", "secretEnv", "secret");
    if (t.has("keyFile")) {
      if (t.has("name") || t.has("algorithm") || t.has("secretEnv") || t.has("secret")) {
        t.report("keyFile", "give keyFile alone: the key file names the key and its algorithm");
        return null;
      }
      Path file =
          t.yaml().file().toAbsolutePath().getParent().resolve(t.string("keyFile").orElse(""));
      if (!read) {
        return null;
      }
      if (!Files.isReadable(file)) {
        t.report("keyFile", "file " + file + " is not readable");
        return null;
      }
      try {
        return TsigKey.fromBindKeyFile(file);
      } catch (java.io.IOException e) {
        t.report(
            "keyFile", "file " + file + " is not readable (" + e.getClass().getSimpleName() + ")");
      } catch (IllegalArgumentException e) {
        // TsigKey's messages name the file, the key and what is wrong, never the secret.
        t.report("keyFile", e.getMessage());
      }
      return null;
    }
    String name = t.required("name", "the key's name, as in the server's key statement");
    String algorithm = t.required("algorithm", "e.g. hmac-sha256");
    if (algorithm != null) {
      try {
        dev.baton.dns.TsigAlgorithm.parse(algorithm);
      } catch (IllegalArgumentException e) {
        t.report("algorithm", e.getMessage());
        algorithm = null;
      }
    }
    Optional<String> secret =
        ConfigSecrets.read(t, "secretFile", "secretEnv", "secret", "the TSIG secret", read);
    if (secret.isEmpty()
        && !t.has("secretEnv")
        && !t.has("secretFile")
        && !t.keys().contains("secret")) {
      t.required("secretEnv", "the name of an environment variable holding the base64 secret");
    }
    if (!read || name == null || algorithm == null || secret.isEmpty()) {
      return null;
    }
    try {
      return TsigKey.of(name, algorithm, secret.get());
    } catch (IllegalArgumentException e) {
      t.report("secretEnv", e.getMessage());
      return null;
    }
  }
}
