package dev.baton.sidecar.config;

import dev.baton.core.FailbackPolicy;
import dev.baton.core.Member;
import dev.baton.core.PromotionPlan;
import dev.baton.core.Timing;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads and checks a sidecar configuration file. The schema, with every key, its default and an
 * example, is in docs/sidecar-config.md; this class is its executable form.
 *
 * <p>Every problem names the file, the line, the key path and what is allowed, unknown keys
 * included; all problems of a file are reported together, and a file with any problem is refused as
 * a whole (nothing starts).
 */
public final class ConfigLoader {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");

  private ConfigLoader() {}

  /**
   * Loads {@code file}.
   *
   * @throws ConfigException listing every problem found
   */
  public static SidecarConfig load(Path file) {
    return load(file, false);
  }

  /**
   * Loads {@code file} for a process that reaches the cluster as a client beside the node: the CLI
   * with {@code --config} and {@code baton pg-guard}. Promotion steps other than {@code postgres}
   * (whose former-primary guard pg-guard runs) have their keys checked but are not built, so that
   * their files (a {@code dns} step's TSIG key, say) need not exist on that host; the returned plan
   * leaves them out.
   *
   * @throws ConfigException listing every problem found
   */
  public static SidecarConfig loadAsClient(Path file) {
    return load(file, true);
  }

  private static SidecarConfig load(Path file, boolean asClient) {
    Yaml yaml = new Yaml(file);
    Yaml.Section root = yaml.root();
    if (!yaml.problems().isEmpty()) {
      throw new ConfigException(yaml.problems());
    }
    root.allow(
        "cluster",
        "node",
        "dataDir",
        "members",
        "raft",
        "control",
        "http",
        "timing",
        "operationTimeout",
        "failureBackoff",
        "historyLimit",
        "joining",
        "bootstrap",
        "tls",
        "clusterSecretFile",
        "clusterSecretEnv",
        "acceptClusterSecretFiles",
        "insecure",
        "promotion",
        "health",
        "failback",
        "logging");
    Path base = file.toAbsolutePath().getParent();

    String cluster = id(root, "cluster", "the cluster's id, the same on every node");
    String node = id(root, "node", "this node's id, one of the members");
    String dataDirText = root.required("dataDir", "the directory of this node's Raft log");
    Path dataDir = dataDirText == null ? null : base.resolve(dataDirText);

    MembersSection.Parsed parsedMembers = MembersSection.parse(yaml, root, node);
    List<Member> members = parsedMembers.members();
    Map<String, String> control = parsedMembers.control();
    Map<String, Yaml.Section> memberSections = parsedMembers.sections();

    Yaml.Section raftSection = root.section("raft");
    raftSection.allow("listen");
    Optional<String> raftListen = raftSection.hostPort("listen");

    Yaml.Section controlSection = root.section("control");
    controlSection.allow("listen");
    String controlListen =
        controlSection.hostPort("listen").orElse(node == null ? null : control.get(node));
    if (controlListen == null && node != null && memberSections.containsKey(node)) {
      yaml.problem(
          memberSections.get(node).node(),
          "control.listen",
          "this node's control API needs an address: set control.listen, or 'control' in this"
              + " node's entry under members");
    }
    Yaml.Section http = root.section("http");
    http.allow("listen", "tls");
    Optional<String> httpListen = http.hostPort("listen");
    Optional<SidecarConfig.HttpTls> httpTls = Optional.empty();
    Yaml.Section httpTlsSection = http.section("tls");
    if (httpTlsSection.present()) {
      httpTlsSection.allow("certificateChain", "privateKey");
      Path cert =
          SecuritySection.file(
              yaml, httpTlsSection, "certificateChain", "the HTTPS certificate chain (PEM)", base);
      Path key =
          SecuritySection.file(
              yaml, httpTlsSection, "privateKey", "the HTTPS private key (PEM, PKCS#8)", base);
      if (cert != null && key != null) {
        httpTls = Optional.of(new SidecarConfig.HttpTls(cert, key));
      }
    }

    Timing timing = timing(yaml, root.section("timing"));
    Duration operationTimeout = root.duration("operationTimeout").orElse(Duration.ofSeconds(5));
    Duration failureBackoff = root.duration("failureBackoff").orElse(Duration.ofSeconds(10));
    int historyLimit = root.integer("historyLimit", 100, 1, 100_000);
    boolean joining = root.bool("joining", false);
    boolean bootstrap = root.bool("bootstrap", false);
    if (joining && bootstrap) {
      yaml.problem(
          root.valueNode("bootstrap"),
          "bootstrap",
          "bootstrap and joining are both true: bootstrap starts a new cluster, joining adds this"
              + " node to a running one; keep one");
    }
    if (timing != null && operationTimeout.compareTo(timing.electionTimeoutMax()) < 0) {
      yaml.problem(
          root.valueNode("operationTimeout"),
          "operationTimeout",
          operationTimeout.toMillis()
              + " ms is shorter than timing.electionTimeoutMax ("
              + timing.electionTimeoutMax().toMillis()
              + " ms); operations would fail during every election");
    }

    SecuritySection.Parsed security = SecuritySection.parse(yaml, root, base);
    NodeRef nodeRef = new NodeRef();
    boolean eligible =
        node != null && members.stream().anyMatch(m -> m.id().equals(node) && m.eligible());
    StepType.Scope scope =
        new StepType.Scope(node, Set.copyOf(memberSections.keySet()), eligible, nodeRef);
    List<NodeService> services = new ArrayList<>();
    PromotionPlan plan =
        PromotionSection.parse(yaml, root.section("promotion"), scope, services, asClient);
    HealthSection.Parsed health = HealthSection.parse(root, nodeRef);
    FailbackPolicy failback = failback(root.section("failback"));

    Yaml.Section logging = root.section("logging");
    logging.allow("format", "level", "ratisLevel");
    String format = logging.string("format").orElse("text");
    if (!format.equals("text") && !format.equals("json")) {
      yaml.problem(
          logging.valueNode("format"),
          "logging.format",
          "'" + format + "' is not allowed; use text or json");
    }
    String level = logging.string("level").orElse("INFO").toUpperCase(java.util.Locale.ROOT);
    if (!LEVELS.contains(level)) {
      yaml.problem(
          logging.valueNode("level"),
          "logging.level",
          "'" + level + "' is not allowed; use one of " + new TreeSet<>(LEVELS));
    }

    String ratisLevel =
        logging.string("ratisLevel").orElse("ERROR").toUpperCase(java.util.Locale.ROOT);
    if (!LEVELS.contains(ratisLevel)) {
      yaml.problem(
          logging.valueNode("ratisLevel"),
          "logging.ratisLevel",
          "'" + ratisLevel + "' is not allowed; use one of " + new TreeSet<>(LEVELS));
    }

    yaml.checkPassedOn();
    if (!yaml.problems().isEmpty()) {
      throw new ConfigException(yaml.problems());
    }
    return new SidecarConfig(
        file,
        cluster,
        node,
        dataDir,
        List.copyOf(members),
        raftListen,
        Map.copyOf(control),
        controlListen,
        httpListen,
        httpTls,
        timing,
        operationTimeout,
        failureBackoff,
        historyLimit,
        joining,
        bootstrap,
        security.tls(),
        security.raftSecurity(),
        security.acceptedSecrets(),
        plan,
        List.copyOf(services),
        nodeRef,
        new SidecarConfig.Logging(format, level, ratisLevel),
        health.policy(),
        health.checks(),
        failback);
  }

  /**
   * The {@code failback:} section: {@code enabled} (required when the section is there, so that a
   * section with only a hold-down does not silently leave failback off) and {@code holdDown}, a
   * positive duration (default 30s).
   */
  private static FailbackPolicy failback(Yaml.Section f) {
    if (!f.present()) {
      return FailbackPolicy.DISABLED;
    }
    f.allow("enabled", "holdDown");
    if (!f.has("enabled")) {
      f.required("enabled", "true to fail back to a member with a higher priority, or false");
    }
    boolean enabled = f.bool("enabled", false);
    Duration holdDown = FailbackPolicy.DEFAULT_HOLD_DOWN;
    Optional<String> text = f.string("holdDown");
    if (text.isPresent() && text.get().trim().startsWith("-")) {
      f.report(
          "holdDown",
          "'"
              + text.get()
              + "' is negative; the hold-down must be a positive duration, e.g. 30s (how long a"
              + " higher-priority member must be up and healthy before the role fails back to it)");
    } else if (text.isPresent()) {
      Optional<Duration> d = f.duration("holdDown");
      if (d.isPresent() && d.get().isZero()) {
        f.report(
            "holdDown",
            "'"
                + text.get()
                + "' is zero; the hold-down must be a positive duration, e.g. 30s (how long a"
                + " higher-priority member must be up and healthy before the role fails back to"
                + " it)");
      } else if (d.isPresent()) {
        holdDown = d.get();
      }
    }
    return new FailbackPolicy(enabled, holdDown);
  }

  static String id(Yaml.Section s, String key, String what) {
    String v = s.required(key, what);
    if (v != null && !ID.matcher(v).matches()) {
      s.yaml()
          .problem(
              s.valueNode(key),
              Yaml.join(s.path(), key),
              "'" + v + "' is not allowed: use 1 to 64 letters, digits, '.', '_' or '-'");
      return null;
    }
    return v;
  }

  private static Timing timing(Yaml yaml, Yaml.Section t) {
    t.allow(
        "electionTimeoutMin",
        "electionTimeoutMax",
        "clockDrift",
        "leaseMargin",
        "renewInterval",
        "demotionReserve");
    int before = yaml.problems().size();
    Duration min = t.duration("electionTimeoutMin").orElse(Timing.DEFAULTS.electionTimeoutMin());
    Duration max =
        t.duration("electionTimeoutMax")
            .orElse(
                t.has("electionTimeoutMin")
                    ? min.multipliedBy(2)
                    : Timing.DEFAULTS.electionTimeoutMax());
    // Settings not given scale with electionTimeoutMin, as Timing.scaledTo does.
    Timing scaled;
    try {
      scaled = Timing.scaledTo(min, max);
    } catch (IllegalArgumentException e) {
      yaml.problem(t.node(), t.path().isEmpty() ? "timing" : t.path(), e.getMessage());
      return null;
    }
    double drift = t.decimal("clockDrift", scaled.clockDrift());
    Duration margin = t.duration("leaseMargin").orElse(scaled.leaseMargin());
    Duration renew = t.duration("renewInterval").orElse(scaled.renewInterval());
    Duration reserve = t.duration("demotionReserve").orElse(scaled.demotionReserve());
    if (yaml.problems().size() > before) {
      return null;
    }
    try {
      return new Timing(min, max, drift, margin, renew, reserve);
    } catch (IllegalArgumentException e) {
      yaml.problem(t.node(), "timing", e.getMessage());
      return null;
    }
  }
}
