package dev.baton.sidecar.config;

import dev.baton.core.ClusterSecret;
import dev.baton.core.FailbackPolicy;
import dev.baton.core.Member;
import dev.baton.core.PromotionPlan;
import dev.baton.core.StepPolicy;
import dev.baton.core.Timing;
import dev.baton.core.TlsConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
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
  private static final List<String> COMMON_STEP_KEYS =
      List.of("name", "type", "required", "timeout", "maxAttempts", "backoff", "maxBackoff");

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

    List<Member> members = new ArrayList<>();
    Map<String, String> control = new LinkedHashMap<>();
    Map<String, Yaml.Section> memberSections = new HashMap<>();
    List<Yaml.Section> memberList = root.sections("members");
    if (memberList.isEmpty() && !root.has("members")) {
      root.required("members", "a list of every node, this one included (id, raft, control)");
    }
    for (Yaml.Section m : memberList) {
      m.allow("id", "raft", "control", "witness", "noActivate", "priority");
      String id = id(m, "id", "the member's node id");
      Optional<String> raft = m.hostPort("raft");
      if (raft.isEmpty() && !m.has("raft")) {
        m.required("raft", "host:port of the member's Raft server");
      }
      Optional<String> controlAddress = m.hostPort("control");
      boolean witness = m.bool("witness", false);
      boolean noActivate = m.bool("noActivate", false);
      int priority = m.integer("priority", witness ? 0 : 1, 0, 1000);
      if (id == null || raft.isEmpty()) {
        continue;
      }
      if (memberSections.put(id, m) != null) {
        yaml.problem(m.valueNode("id"), Yaml.join(m.path(), "id"), "'" + id + "' appears twice");
        continue;
      }
      for (Member other : members) {
        if (other.address().equals(raft.get())) {
          yaml.problem(
              m.valueNode("raft"),
              Yaml.join(m.path(), "raft"),
              raft.get() + " is already the Raft address of " + other.id());
        }
      }
      try {
        members.add(new Member(id, raft.get(), witness, noActivate || witness, priority));
      } catch (IllegalArgumentException e) {
        yaml.problem(m.node(), m.path(), e.getMessage());
      }
      controlAddress.ifPresent(a -> control.put(id, a));
    }
    if (node != null && !members.isEmpty() && !memberSections.containsKey(node)) {
      yaml.problem(
          root.valueNode("node"),
          "node",
          "'" + node + "' is not among the members " + memberSections.keySet());
    }
    if (!members.isEmpty() && members.stream().noneMatch(Member::eligible)) {
      yaml.problem(
          root.valueNode("members"),
          "members",
          "no member may become active: every one is a witness or noActivate");
    }

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
          file(yaml, httpTlsSection, "certificateChain", "the HTTPS certificate chain (PEM)", base);
      Path key =
          file(yaml, httpTlsSection, "privateKey", "the HTTPS private key (PEM, PKCS#8)", base);
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

    Optional<SidecarConfig.Tls> tls = tls(yaml, root.section("tls"), base);
    SidecarConfig.RaftSecurity raftSecurity = raftSecurity(yaml, root, tls, base);
    List<Path> acceptedSecrets = acceptedSecrets(yaml, root, raftSecurity, base);
    NodeRef nodeRef = new NodeRef();
    boolean eligible =
        node != null && members.stream().anyMatch(m -> m.id().equals(node) && m.eligible());
    StepType.Scope scope =
        new StepType.Scope(node, Set.copyOf(memberSections.keySet()), eligible, nodeRef);
    List<NodeService> services = new ArrayList<>();
    PromotionPlan plan = plan(yaml, root.section("promotion"), scope, services, asClient);
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
        tls,
        raftSecurity,
        acceptedSecrets,
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

  private static String id(Yaml.Section s, String key, String what) {
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

  private static Path file(Yaml yaml, Yaml.Section t, String key, String what, Path base) {
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

  private static PromotionPlan plan(
      Yaml yaml,
      Yaml.Section p,
      StepType.Scope scope,
      List<NodeService> services,
      boolean asClient) {
    p.allow("watchdog", "steps");
    PromotionPlan.Builder plan = PromotionPlan.builder().watchdog(p.bool("watchdog", true));
    Set<String> names = new LinkedHashSet<>();
    for (Yaml.Section step : p.sections("steps")) {
      String name =
          step.required("name", "a unique name for the step, used in logs and the journal");
      String type = step.required("type", "one of " + allowedTypes());
      StepType stepType = type == null ? null : StepType.KNOWN.get(type);
      if (type != null && stepType == null) {
        yaml.problem(
            step.valueNode("type"),
            Yaml.join(step.path(), "type"),
            "'" + type + "' is not a known step type; allowed: " + allowedTypes());
      }
      List<String> allowed = new ArrayList<>(COMMON_STEP_KEYS);
      if (stepType != null) {
        allowed.addAll(stepType.keys());
      }
      step.allow(allowed.toArray(String[]::new));
      if (name != null && !names.add(name)) {
        yaml.problem(
            step.valueNode("name"),
            Yaml.join(step.path(), "name"),
            "'" + name + "' is used by another step; names must be unique");
      }
      StepPolicy policy = policy(yaml, step);
      if (asClient && !(stepType instanceof PostgresStep)) {
        continue; // a client beside the node needs only the postgres steps' guards
      }
      StepType.Built built =
          stepType == null || name == null ? null : stepType.build(name, step, scope);
      if (built != null && policy != null) {
        plan.action(built.action(), policy);
        services.addAll(built.services());
      }
    }
    try {
      return plan.build();
    } catch (IllegalArgumentException e) {
      yaml.problem(p.node(), "promotion", e.getMessage());
      return PromotionPlan.empty();
    }
  }

  private static StepPolicy policy(Yaml yaml, Yaml.Section step) {
    StepPolicy d = StepPolicy.mustSucceed();
    boolean required = step.bool("required", true);
    Duration timeout = step.duration("timeout").orElse(d.timeout());
    int attempts = step.integer("maxAttempts", d.maxAttempts(), 1, 100);
    Duration backoff = step.duration("backoff").orElse(d.initialBackoff());
    Duration maxBackoff = step.duration("maxBackoff").orElse(d.maxBackoff());
    try {
      return new StepPolicy(timeout, attempts, backoff, maxBackoff, required);
    } catch (IllegalArgumentException e) {
      yaml.problem(step.node(), step.path(), e.getMessage());
      return null;
    }
  }

  private static String allowedTypes() {
    return String.join(", ", new TreeSet<>(StepType.KNOWN.keySet()));
  }
}
