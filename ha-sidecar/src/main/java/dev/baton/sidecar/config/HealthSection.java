package dev.baton.sidecar.config;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthChecks;
import dev.baton.core.HealthPolicy;
import dev.baton.postgres.PostgresEndpoint;
import dev.baton.postgres.PostgresHealthCheck;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code health:} section (docs/sidecar-config.md): the checks whose failure moves the role,
 * and the policy that turns their answers into the node's health. Every problem names the file, the
 * line and the key; nothing of a file with a problem starts.
 *
 * <pre>{@code
 * health:
 *   failuresToDemote: 3
 *   successesToRecover: 2
 *   minMoveInterval: 30s
 *   checks:
 *     - name: plane
 *       type: http             # http | tcp | exec | postgres
 *       url: http://127.0.0.1:8080/healthz
 *       interval: 500ms
 *       timeout: 300ms
 *       demote: true
 * }</pre>
 */
final class HealthSection {
  static final List<String> TYPES = List.of("http", "tcp", "exec", "postgres");
  private static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);

  private HealthSection() {}

  /**
   * The parsed section.
   *
   * @param policy the policy (defaults where keys are absent)
   * @param checks the checks, built once the node exists (a postgres check asks the node whether it
   *     is active)
   */
  record Parsed(HealthPolicy policy, List<HealthCheck> checks) {
    static final Parsed NONE = new Parsed(HealthPolicy.DEFAULTS, List.of());
  }

  static Parsed parse(Yaml.Section root, NodeRef nodeRef) {
    Yaml.Section health = root.section("health");
    if (!health.present()) {
      return Parsed.NONE;
    }
    health.allow("failuresToDemote", "successesToRecover", "minMoveInterval", "checks");
    HealthPolicy d = HealthPolicy.DEFAULTS;
    int failures = health.integer("failuresToDemote", d.failuresToDemote(), 1, 1000);
    int successes = health.integer("successesToRecover", d.successesToRecover(), 1, 1000);
    Duration minMove = health.duration("minMoveInterval").orElse(d.minMoveInterval());
    HealthPolicy policy = new HealthPolicy(failures, successes, minMove);
    List<Yaml.Section> checkSections = health.sections("checks");
    if (checkSections.isEmpty() && !health.has("checks")) {
      health.required("checks", "a list of checks (name, type, and the type's target)");
    }
    List<HealthCheck> checks = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (Yaml.Section c : checkSections) {
      check(root, c, nodeRef, names).ifPresent(checks::add);
    }
    return new Parsed(policy, List.copyOf(checks));
  }

  private static Optional<HealthCheck> check(
      Yaml.Section root, Yaml.Section c, NodeRef nodeRef, Set<String> names) {
    Yaml yaml = c.yaml();
    int before = yaml.problems().size();
    String name = c.required("name", "the check's name, shown in status and metrics");
    String type = c.required("type", "one of " + String.join(", ", TYPES));
    List<String> allowed =
        new ArrayList<>(List.of("name", "type", "interval", "timeout", "demote"));
    if (type != null) {
      switch (type) {
        case "http" -> allowed.add("url");
        case "tcp" -> allowed.add("address");
        case "exec" -> allowed.addAll(List.of("command", "passEnv", "workingDirectory"));
        case "postgres" ->
            allowed.addAll(List.of("server", "database", "user", "passwordFile", "passwordEnv"));
        default -> c.report("type", "'" + type + "' is not a check type; use one of " + TYPES);
      }
    }
    c.allow(allowed.toArray(String[]::new));
    if (name != null && !names.add(name)) {
      c.report("name", "'" + name + "' is the name of another check; names must be unique");
    }
    Duration interval = c.duration("interval").orElse(DEFAULT_INTERVAL);
    Duration timeout =
        c.duration("timeout")
            .orElse(interval.compareTo(DEFAULT_INTERVAL) < 0 ? interval : DEFAULT_INTERVAL);
    if (timeout.compareTo(interval) > 0) {
      c.report(
          "timeout",
          timeout.toMillis()
              + " ms is longer than the interval ("
              + interval.toMillis()
              + " ms): a probe must end before the next one starts");
    }
    boolean demote = c.bool("demote", true);
    if (yaml.problems().size() > before || name == null || type == null) {
      return Optional.empty();
    }
    HealthCheck.Settings settings;
    try {
      settings = new HealthCheck.Settings(name, interval, timeout, demote);
    } catch (IllegalArgumentException e) {
      c.report("name", e.getMessage());
      return Optional.empty();
    }
    return switch (type) {
      case "http" -> http(c, settings);
      case "tcp" -> tcp(c, settings);
      case "exec" -> exec(c, settings);
      case "postgres" -> postgres(root, c, settings, nodeRef);
      default -> Optional.empty();
    };
  }

  private static Optional<HealthCheck> http(Yaml.Section c, HealthCheck.Settings s) {
    String url = c.required("url", "the URL to GET, e.g. http://127.0.0.1:8080/healthz");
    if (url == null) {
      return Optional.empty();
    }
    try {
      URI u = new URI(url);
      if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
        c.report("url", "'" + url + "' is not an http:// or https:// URL with a host");
        return Optional.empty();
      }
      return Optional.of(HealthChecks.http(s, u));
    } catch (URISyntaxException e) {
      c.report("url", "'" + url + "' is not a URL: " + e.getMessage());
      return Optional.empty();
    }
  }

  private static Optional<HealthCheck> tcp(Yaml.Section c, HealthCheck.Settings s) {
    if (!c.has("address")) {
      c.required("address", "host:port to connect to");
      return Optional.empty();
    }
    return c.hostPort("address")
        .map(
            a -> {
              int colon = a.lastIndexOf(':');
              return HealthChecks.tcp(
                  s, a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
            });
  }

  private static Optional<HealthCheck> exec(Yaml.Section c, HealthCheck.Settings s) {
    if (!c.has("command")) {
      c.required("command", "the command to run, a string (run by /bin/sh) or a list");
      return Optional.empty();
    }
    Optional<List<String>> words = c.words("command");
    if (words.isEmpty()) {
      return Optional.empty();
    }
    boolean shell = c.valueNode("command") instanceof org.yaml.snakeyaml.nodes.ScalarNode;
    List<String> command = shell ? List.of("/bin/sh", "-c", words.get().get(0)) : words.get();
    Path dir = c.string("workingDirectory").map(Path::of).orElse(null);
    return Optional.of(HealthChecks.exec(s, command, dir, c.passEnv("passEnv")));
  }

  /**
   * A postgres check: server, database, user and password default to this node's entry of the
   * promotion plan's postgres step, so the usual check needs only a name and a type.
   */
  private static Optional<HealthCheck> postgres(
      Yaml.Section root, Yaml.Section c, HealthCheck.Settings s, NodeRef nodeRef) {
    Optional<Yaml.Section> step = postgresStep(root);
    String nodeId = root.string("node").orElse("");
    Optional<String> server = c.hostPort("server");
    if (server.isEmpty() && step.isPresent() && !c.has("server")) {
      server = step.get().section("servers").string(nodeId);
    }
    if (server.isEmpty()) {
      if (!c.has("server")) {
        c.report(
            "type",
            "a postgres check needs a server: give server (host:port), or add this node ('"
                + nodeId
                + "') to the postgres step's servers");
      }
      return Optional.empty();
    }
    String database =
        c.string("database").or(() -> step.flatMap(p -> p.string("database"))).orElse("postgres");
    String user = c.string("user").or(() -> step.flatMap(p -> p.string("user"))).orElse("postgres");
    Optional<String> password;
    if (c.has("passwordFile") || c.has("passwordEnv")) {
      password =
          ConfigSecrets.read(
              c, "passwordFile", "passwordEnv", "password", "the PostgreSQL password");
    } else if (step.isPresent()) {
      // Read again from the step (a problem there is reported once: duplicates are dropped).
      password =
          ConfigSecrets.read(
              step.get(), "passwordFile", "passwordEnv", "password", "the PostgreSQL password");
    } else {
      password = Optional.empty();
    }
    String address = server.get();
    int colon = address.lastIndexOf(':');
    PostgresEndpoint endpoint =
        new PostgresEndpoint(
            address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)), database);
    return Optional.of(
        PostgresHealthCheck.of(s, endpoint, user, password.orElse(null), nodeRef::isActive));
  }

  private static Optional<Yaml.Section> postgresStep(Yaml.Section root) {
    for (Yaml.Section step : root.section("promotion").sections("steps")) {
      if (step.string("type").filter("postgres"::equals).isPresent()) {
        return Optional.of(step);
      }
    }
    return Optional.empty();
  }
}
