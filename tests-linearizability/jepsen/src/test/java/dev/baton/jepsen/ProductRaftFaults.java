package dev.baton.jepsen;

import dev.baton.core.Member;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ClusterSecretCredentials;
import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.ProductPathTest.Site;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.Container.ExecResult;

/**
 * The suite's Raft-side nemeses through the product path ({@link ProductPathTest}), each as an
 * operator's action or a user's failure happens to {@code bin/baton sidecar}, with no node-app
 * hook:
 *
 * <ul>
 *   <li>{@code membership}, as the suite's MEMBERSHIP: a member that is not the active (the other
 *       site or the witness) removed with the sidecar's CLI ({@code members remove}, run in the
 *       active's container against the control API, with the cluster secret of its {@code
 *       node.yaml}), its sidecar stopped and its data directory emptied; then started with {@code
 *       joining: true} and added back ({@code members add}) until it holds the configuration that
 *       adds it (docs/operations/planned-maintenance.md, "Replacing a node"). The active commits on
 *       meanwhile.
 *   <li>{@code wipe}: a site's data directory lost: its sidecar SIGKILLed, {@code /site/data}
 *       removed, the sidecar started again with its configuration as it was (half the time with the
 *       first start's {@code bootstrap: true} left in it, half the time without, as the docs
 *       advise: the two refusals of README's "no amnesiac voter"). It must exit, naming the way
 *       back; its exit status and refusal line are recorded ({@link Wipe}). Then the harness does
 *       the documented runbook (docs/operations/disaster-recovery.md, "One node's data directory is
 *       lost": {@code bootstrap} removed, {@code members remove}, start with {@code joining},
 *       {@code members add}) and the node must be a member again.
 *   <li>{@code outsider}: a process without the cluster secret that knows the cluster id and the
 *       Raft addresses probes the sidecars' Raft ports as the suite's OUTSIDER does ({@link
 *       Nemesis#probeRaftPort}: a raw write, a reconfiguration, a leadership transfer, a forced
 *       election, over TLS with a certificate of its own making), while each sidecar's refusal
 *       counter ({@code baton_raft_refused_total} on {@code /metrics}) is read every 20 ms; both go
 *       to the suite's check, {@link Checks#outsiderRefused}.
 * </ul>
 *
 * <p>While the harness works on a site, its sidecar is held stopped by a marker file, {@code
 * /site/hold}, that the site's restart loop waits on before it starts the sidecar. Every CLI call
 * and its output is kept in {@code operator.log}.
 *
 * <p>Checked ({@link #judge}): the outsider was refused (INVALID if an attempt got in), each wiped
 * sidecar refused its empty directory (INVALID if it started), and the cluster ends with its three
 * members (INVALID if not).
 */
final class ProductRaftFaults {
  private static final Logger LOG = LoggerFactory.getLogger(ProductRaftFaults.class);

  /** The cluster id in the sites' {@code node.yaml}. */
  static final String CLUSTER = "jepsen-product";

  private static final String CLI =
      "java -Xmx64m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"
          + " @/site/classpath.args dev.baton.sidecar.Main ";
  private static final Duration STEP = Duration.ofSeconds(120);
  private static final Pattern EXIT =
      Pattern.compile("start\\.sh: the sidecar exited with status (\\d+)");

  /** What a fault did: the node it hit, when it began, and what heals it. */
  record Injected(Site target, long time, Runnable heal) {}

  /**
   * A wiped sidecar's start on its empty directory: whether its config still said {@code
   * bootstrap}, its exit status (null if it did not exit), the refusal it logged (null if none),
   * whether it was running when the harness stopped waiting, and whether the runbook made it a
   * member again.
   */
  record Wipe(
      String node,
      boolean bootstrapLeftover,
      Integer exitStatus,
      String refusal,
      boolean running,
      boolean readded) {
    /** Refused as documented: exited non-zero with a refusal that names the way back. */
    boolean refused() {
      return !running && exitStatus != null && exitStatus != 0 && namesTheWayBack(node, refusal);
    }

    String describe() {
      return node
          + (bootstrapLeftover ? " (config still saying bootstrap)" : " (config without bootstrap)")
          + (running
              ? ": STARTED on its empty data directory"
              : exitStatus == null ? ": did not exit" : ": exited with status " + exitStatus)
          + (refusal == null
              ? ", no refusal logged"
              : namesTheWayBack(node, refusal)
                  ? ", refused naming the way back"
                  : ", logged a refusal that does not name the way back: " + refusal)
          + (readded ? "; a member again after the runbook" : "; not yet a member again");
    }
  }

  /** A member removed and added back: the fault, the node, the active's token before and after. */
  record Change(String kind, String node, long tokenBefore, long tokenAfter) {
    String describe() {
      return kind
          + " of "
          + node
          + (tokenBefore == tokenAfter
              ? " (the active kept token " + tokenBefore + ")"
              : " (active token " + tokenBefore + " then " + tokenAfter + ")");
    }
  }

  private final Map<String, Site> sites;
  private final Path runDir;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();
  private final List<Nemesis.Event> outsiderEvents =
      Collections.synchronizedList(new ArrayList<>());
  private final List<NodeEvents.Refusals> refusals =
      Collections.synchronizedList(new ArrayList<>());
  private final List<Wipe> wipes = new ArrayList<>();
  private final List<Change> changes = new ArrayList<>();
  private Map<String, dev.baton.core.TlsConfig> forged;
  private BatonClient client;

  /**
   * @param sites the run's sites by id, as {@link ProductPathTest} keeps them (read on each use:
   *     their containers are set once they started)
   */
  ProductRaftFaults(Map<String, Site> sites, Path runDir) {
    this.sites = sites;
    this.runDir = runDir;
  }

  /** Injects {@code kind} (membership, wipe or outsider) with {@code active} the active site. */
  Injected inject(NemesisKind kind, Site active, Random random) {
    return switch (kind) {
      case MEMBERSHIP -> membership(active, random);
      case WIPE -> wipe(active, random);
      case OUTSIDER -> outsider(active);
      default -> throw new IllegalArgumentException(kind.wireName() + " is not a Raft fault");
    };
  }

  // ------------------------------------------------------------------ membership

  private Injected membership(Site active, Random random) {
    Site target = notActive(active, random);
    long before = tokenOf(active);
    // Held from now on: a removed sidecar may stop by itself, and must not come back on its old
    // directory.
    hold(target, true);
    long t = System.nanoTime();
    removeUntilGone(active, target);
    return new Injected(
        target,
        t,
        () -> {
          stopSidecar(target);
          exec(target, "rm -rf /site/data", true);
          rejoin(active, target);
          changes.add(new Change("membership", target.id(), before, tokenOf(active)));
        });
  }

  // ------------------------------------------------------------------ wipe

  private Injected wipe(Site active, Random random) {
    Site target = notActive(active, random);
    long before = tokenOf(active);
    boolean leftover = random.nextBoolean();
    if (!leftover) {
      // As the docs advise after the first start; the directory exists, so nothing changes yet.
      editConfig(target, false);
    }
    hold(target, true);
    long t = System.nanoTime();
    stopSidecar(target);
    exec(target, "rm -rf /site/data", true);
    Path log = target.dir().resolve("sidecar.log");
    String oldPid = read(target.dir().resolve("sidecar.pid"));
    LOG.info(
        "product path: {}'s data directory removed; its sidecar starts again as it was ({})",
        target.id(),
        leftover ? "bootstrap: true still in its config" : "without bootstrap");
    hold(target, false);
    // One start: the hold is back long before the new JVM can have refused and exited.
    Awaitility.await(target.id() + "'s sidecar started again")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> !read(target.dir().resolve("sidecar.pid")).equals(oldPid));
    hold(target, true);
    // From the new start on (the killed sidecar's exit line is written before it).
    long offset = size(log);
    Integer status = null;
    boolean running = false;
    try {
      // The refusal comes after the JVM's start and, with bootstrap, the peer probe (at most 10 s).
      status =
          Awaitility.await(target.id() + "'s sidecar exits on its empty data directory")
              .atMost(Duration.ofSeconds(90))
              .pollInterval(Duration.ofMillis(200))
              .until(() -> exitStatus(since(log, offset)), s -> s != null);
    } catch (ConditionTimeoutException e) {
      running = sidecarRunning(target);
    }
    String refusal = refusalLine(since(log, offset));
    Wipe w = new Wipe(target.id(), leftover, status, refusal, running, false);
    Integer exit = status;
    int index = wipes.size();
    wipes.add(w);
    LOG.info("product path: wipe of {}", w.describe());
    return new Injected(
        target,
        t,
        () -> {
          // The runbook: bootstrap out of its config, members remove, start with joining,
          // members add, joining out of its config.
          editConfig(target, false);
          stopSidecar(target);
          removeUntilGone(active, target);
          exec(target, "rm -rf /site/data", true);
          rejoin(active, target);
          wipes.set(index, new Wipe(w.node(), leftover, exit, refusal, w.running(), true));
          changes.add(new Change("wipe", target.id(), before, tokenOf(active)));
        });
  }

  /** The loop's exit status in {@code text} (the first exit), or null. */
  static Integer exitStatus(String text) {
    Matcher m = EXIT.matcher(text);
    return m.find() ? Integer.valueOf(m.group(1)) : null;
  }

  /** The first line of {@code text} that refuses to start, or null. */
  static String refusalLine(String text) {
    for (String line : text.split("\n")) {
      if (line.toLowerCase(Locale.ROOT).contains("refusing to start")) {
        return line.strip();
      }
    }
    return null;
  }

  /** Whether {@code refusal} names the documented way back for {@code node}. */
  static boolean namesTheWayBack(String node, String refusal) {
    return refusal != null
        && refusal.contains("members remove " + node)
        && refusal.contains("joining: true")
        && refusal.contains("members add --id " + node);
  }

  // ------------------------------------------------------------------ outsider

  private Injected outsider(Site active) {
    Site other = otherSite(active);
    List<Member> members = new ArrayList<>();
    for (Site s : sites.values()) {
      members.add(Member.voter(s.id(), s.ip() + ":7400"));
    }
    long term = 1;
    try {
      term = client().status(control(active), Duration.ofSeconds(2)).getTerm();
    } catch (RuntimeException e) {
      // An estimate is enough: the outsider guesses.
    }
    if (forged == null) {
      forged = Nemesis.forgedCertificates(runDir.resolve("outsider"), 2);
      Nemesis.warmUpOutsider(forged.get("n1"));
    }
    // Each sidecar's refusal counter, read every 20 ms from before the first attempt to after the
    // last: a rise is recorded as the suite's node app records it (NodeEvents.Refusals).
    polling = true;
    List<Thread> pollers = new ArrayList<>();
    for (Site s : sites.values()) {
      double baseline = refused(s);
      Thread p = new Thread(() -> pollRefusals(s, baseline), "refusals-" + s.id());
      p.setDaemon(true);
      p.start();
      pollers.add(p);
    }
    long t = System.nanoTime();
    Nemesis.Recorder rec =
        (kind, phase, detail) -> {
          outsiderEvents.add(new Nemesis.Event(System.nanoTime(), kind, phase, detail));
          LOG.info("product path: outsider {}: {}", phase, detail);
        };
    rec.record(
        NemesisKind.OUTSIDER,
        "start",
        "outsider probes the Raft ports (leader " + active.id() + ")");
    Nemesis.probeRaftPort(
        CLUSTER, members, forged.get(active.id()), active.id(), other.id(), term, rec);
    rec.record(NemesisKind.OUTSIDER, "end", "outsider done");
    LockSupport.parkNanos(Checks.REFUSAL_RECORD_SLACK * 2);
    polling = false;
    for (Thread p : pollers) {
      try {
        p.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return new Injected(other, t, () -> {});
  }

  private volatile boolean polling;

  private void pollRefusals(Site s, double baseline) {
    double seen = baseline;
    while (polling) {
      double count = refused(s);
      long t = System.nanoTime();
      if (seen < 0) {
        seen = count; // not read before: no rise to record yet
      } else if (count > seen) {
        seen = count;
        refusals.add(new NodeEvents.Refusals(s.id(), 0, t, (long) count));
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
  }

  /** The sum of {@code baton_raft_refused_total} on {@code s}'s {@code /metrics} (-1 if unread). */
  private double refused(Site s) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(s.url("/metrics")))
                  .timeout(Duration.ofSeconds(1))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? refusedTotal(r.body()) : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The sum over every kind of {@code baton_raft_refused_total} in a Prometheus text page. */
  static double refusedTotal(String metrics) {
    double sum = 0;
    for (String line : metrics.split("\n")) {
      if (line.startsWith("baton_raft_refused_total")) {
        String[] parts = line.trim().split("\\s+");
        sum += Double.parseDouble(parts[parts.length - 1]);
      }
    }
    return sum;
  }

  // ------------------------------------------------------------------ the verdict

  /**
   * {@code verdict} with the outcomes of the faults that happened here: outsider-refused, the wiped
   * sidecars' refusals and the final members; a kind that did not happen adds nothing.
   */
  ProductPathChecks.Verdict judge(ProductPathChecks.Verdict verdict) {
    List<Outcome> more = new ArrayList<>();
    if (!outsiderEvents.isEmpty()) {
      List<NodeEvents.Refusals> r = new ArrayList<>(refusals);
      r.sort(java.util.Comparator.comparingLong(NodeEvents.Refusals::time));
      more.add(Checks.outsiderRefused(List.copyOf(outsiderEvents), r));
    }
    if (!wipes.isEmpty()) {
      more.add(wipedSidecarsRefused(wipes));
    }
    if (!changes.isEmpty() || !wipes.isEmpty()) {
      List<String> expected = new ArrayList<>();
      for (Site s : sites.values()) {
        expected.add(memberName(s.id(), s.id().startsWith("w")));
      }
      more.add(membersRestored(changes, readMembers(), expected));
    }
    if (client != null) {
      client.close();
    }
    return withOutcomes(verdict, more);
  }

  /** {@code v} with {@code more} outcomes; its validity is the worst of all. */
  static ProductPathChecks.Verdict withOutcomes(ProductPathChecks.Verdict v, List<Outcome> more) {
    List<Outcome> all = new ArrayList<>(v.outcomes());
    all.addAll(more);
    Validity validity = v.validity();
    for (Outcome o : more) {
      if (o.validity() == Validity.INVALID) {
        validity = Validity.INVALID;
      } else if (o.validity() == Validity.UNKNOWN && validity == Validity.VALID) {
        validity = Validity.UNKNOWN;
      }
    }
    return new ProductPathChecks.Verdict(validity, List.copyOf(all), v.durability());
  }

  /**
   * Each wiped sidecar refused to start on its empty data directory: it exited non-zero with a
   * refusal naming the way back, and the runbook made it a member again. One that started is
   * INVALID (it would vote with no memory of the log); one that exited without the documented
   * refusal, or that the runbook did not bring back, is UNKNOWN.
   */
  static Outcome wipedSidecarsRefused(List<Wipe> wipes) {
    List<String> started = new ArrayList<>();
    List<String> unclear = new ArrayList<>();
    List<String> ok = new ArrayList<>();
    for (Wipe w : wipes) {
      if (w.running()) {
        started.add(w.describe());
      } else if (!w.refused() || !w.readded()) {
        unclear.add(w.describe());
      } else {
        ok.add(w.describe());
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    List<Map<String, Object>> each = new ArrayList<>();
    for (Wipe w : wipes) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("node", w.node());
      m.put("bootstrapLeftover", w.bootstrapLeftover());
      m.put("exitStatus", w.exitStatus());
      m.put("refusal", w.refusal());
      m.put("running", w.running());
      m.put("readded", w.readded());
      each.add(m);
    }
    details.put("wipes", each);
    Validity v =
        !started.isEmpty()
            ? Validity.INVALID
            : wipes.isEmpty() || !unclear.isEmpty() ? Validity.UNKNOWN : Validity.VALID;
    String summary =
        !started.isEmpty()
            ? started.size() + " wiped sidecar(s) started: " + started.get(0)
            : wipes.isEmpty()
                ? "no data directory was wiped: nothing was checked"
                : !unclear.isEmpty()
                    ? unclear.size()
                        + " wiped sidecar(s) not refused as documented or not brought back: "
                        + unclear.get(0)
                    : ok.size()
                        + " wiped, each refused and a member again: "
                        + String.join("; ", ok);
    return new Outcome(
        "wiped-sidecar-refused",
        "a sidecar whose data directory was lost refuses to start (it would vote with no memory of"
            + " the log), naming the way back; the documented runbook makes it a member again",
        v,
        summary,
        details);
  }

  /**
   * The cluster ends with its members as they were (each removed or wiped member added back, with
   * its kind). A member list that differs is INVALID; one that could not be read is UNKNOWN.
   */
  static Outcome membersRestored(
      List<Change> changes, List<String> finalMembers, List<String> expected) {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("changes", changes.stream().map(Change::describe).toList());
    details.put("expected", expected);
    details.put("final", finalMembers);
    Validity v;
    String summary;
    if (finalMembers == null) {
      v = Validity.UNKNOWN;
      summary = "the member list could not be read at the end of the run";
    } else if (!new java.util.TreeSet<>(finalMembers).equals(new java.util.TreeSet<>(expected))
        || finalMembers.size() != expected.size()) {
      v = Validity.INVALID;
      summary = "the cluster ends with members " + finalMembers + ", not " + expected;
    } else {
      v = Validity.VALID;
      summary =
          "the cluster ends with its "
              + expected.size()
              + " members "
              + finalMembers
              + " after "
              + changes.stream().map(Change::describe).toList();
    }
    return new Outcome(
        "members-restored",
        "members removed and added back through the operator interface (membership, the wipe"
            + " runbook) leave the cluster with its members as they were",
        v,
        summary,
        details);
  }

  static String memberName(String id, boolean witness) {
    return witness ? id + " (witness)" : id;
  }

  private List<String> readMembers() {
    try {
      return Awaitility.await("the member list")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(500))
          .ignoreExceptions()
          .until(
              () ->
                  client().members().stream()
                      .map(m -> memberName(m.getId(), m.getWitness()))
                      .sorted()
                      .toList(),
              l -> true);
    } catch (ConditionTimeoutException e) {
      LOG.warn("product path: the member list could not be read: {}", e.getMessage());
      return null;
    }
  }

  // ------------------------------------------------------------------ the operator's steps

  /**
   * {@code members remove} with the CLI in {@code from}'s container until the member list no longer
   * holds {@code target} (a removal that timed out may or may not have been applied).
   */
  private void removeUntilGone(Site from, Site target) {
    Awaitility.await("members remove " + target.id())
        .atMost(STEP)
        .pollInterval(Duration.ofSeconds(1))
        .ignoreExceptions()
        .until(
            () -> {
              if (!isMember(target)) {
                return true;
              }
              ExecResult r = cli(from, "members remove " + target.id());
              if (r.getExitCode() != 0 && r.getStderr().contains("is the active node")) {
                throw new IllegalStateException(
                    target.id() + " became the active before its removal: " + r.getStderr());
              }
              return !isMember(target);
            });
    LOG.info("product path: {} removed (members remove)", target.id());
  }

  /**
   * Starts {@code target}'s sidecar on its empty directory with {@code joining: true}, adds it with
   * the CLI in {@code from}'s container until it holds the configuration that adds it, then takes
   * {@code joining} out of its config, as the runbook says.
   */
  private void rejoin(Site from, Site target) {
    editConfig(target, true);
    hold(target, false);
    Awaitility.await(target.id() + " answers on its control API")
        .atMost(STEP)
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .until(
            () -> {
              client().status(control(target), Duration.ofSeconds(1));
              return true;
            });
    boolean witness = target.id().startsWith("w");
    Awaitility.await("members add " + target.id())
        .atMost(STEP)
        .pollInterval(Duration.ofSeconds(1))
        .ignoreExceptions()
        .until(
            () -> {
              if (!isMember(target)) {
                cli(
                    from,
                    "members add --id "
                        + target.id()
                        + " --raft "
                        + target.ip()
                        + ":7400"
                        + (witness ? " --witness" : ""));
              }
              return isMember(target);
            });
    Awaitility.await(target.id() + " holds the configuration that adds it")
        .atMost(STEP)
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .until(
            () ->
                client().status(control(target), Duration.ofSeconds(1)).getMembersList().stream()
                    .anyMatch(
                        m -> m.getMember().getId().equals(target.id()) && m.getInConfiguration()));
    editConfig(target, false);
    LOG.info("product path: {} is a member again (members add)", target.id());
  }

  private boolean isMember(Site s) {
    return client().members().stream().anyMatch(m -> m.getId().equals(s.id()));
  }

  /** Runs {@code bin/baton ARGS --config /site/node.yaml} in {@code s}'s container. */
  private ExecResult cli(Site s, String args) throws IOException, InterruptedException {
    String command = CLI + args + " --config /site/node.yaml --timeout 30s";
    ExecResult r = s.container().execInContainer("sh", "-c", command);
    String record =
        String.format(
            "%s on %s: baton %s%n  exit %d%n%s%s",
            Instant.now(),
            s.id(),
            args,
            r.getExitCode(),
            indent(r.getStdout()),
            indent(r.getStderr()));
    Files.writeString(
        runDir.resolve("operator.log"),
        record,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    LOG.info("product path: baton {} on {}: exit {}", args, s.id(), r.getExitCode());
    return r;
  }

  private static String indent(String s) {
    return s.isBlank() ? "" : s.strip().replaceAll("(?m)^", "  ") + "\n";
  }

  /**
   * {@code s}'s {@code node.yaml} without {@code bootstrap} and with {@code joining: true} or
   * without it.
   */
  private static void editConfig(Site s, boolean joining) {
    Path f = s.dir().resolve("node.yaml");
    try {
      String y = Files.readString(f);
      y = y.replace("bootstrap: true\n", "").replace("joining: true\n", "");
      if (joining) {
        y = y.replace("dataDir: /site/data\n", "dataDir: /site/data\njoining: true\n");
      }
      Files.writeString(f, y);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The sidecar exits while {@code node} was held: the harness's own (its SIGKILLs, a removed
   * sidecar stopping itself, a wiped one refusing to start), not the site loop's restarts that the
   * run reports.
   */
  int exitsWhileHeld(String node) {
    return exitsWhileHeld.getOrDefault(node, 0);
  }

  private final Map<String, Integer> exitsWhileHeld = new LinkedHashMap<>();
  private final Map<String, Integer> exitsAtHold = new LinkedHashMap<>();

  /** The marker the site's restart loop waits on before it starts the sidecar. */
  private void hold(Site s, boolean on) {
    try {
      long exits =
          since(s.dir().resolve("sidecar.log"), 0)
              .lines()
              .filter(l -> l.startsWith("start.sh: the sidecar exited"))
              .count();
      if (on) {
        exitsAtHold.putIfAbsent(s.id(), (int) exits);
        Files.writeString(s.dir().resolve("hold"), "held by the harness\n");
      } else {
        Integer at = exitsAtHold.remove(s.id());
        if (at != null) {
          exitsWhileHeld.merge(s.id(), (int) exits - at, Integer::sum);
        }
        Files.deleteIfExists(s.dir().resolve("hold"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SIGKILLs {@code s}'s sidecar (if it runs) and waits until it is gone. */
  private void stopSidecar(Site s) {
    exec(s, "kill -KILL $(cat /site/sidecar.pid) 2>/dev/null; true", true);
    Awaitility.await(s.id() + "'s sidecar stopped")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> !sidecarRunning(s));
  }

  private boolean sidecarRunning(Site s) {
    return exec(s, "kill -0 $(cat /site/sidecar.pid) 2>/dev/null", false);
  }

  private static boolean exec(Site s, String script, boolean mustSucceed) {
    try {
      ExecResult r = s.container().execInContainer("sh", "-c", script);
      if (mustSucceed && r.getExitCode() != 0) {
        throw new IllegalStateException(
            "on "
                + s.id()
                + ": `"
                + script
                + "` failed ("
                + r.getExitCode()
                + "): "
                + r.getStderr());
      }
      return r.getExitCode() == 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ------------------------------------------------------------------ helpers

  private BatonClient client() {
    if (client == null) {
      List<String> endpoints = sites.values().stream().map(ProductRaftFaults::control).toList();
      client =
          BatonClient.builder()
              .endpoints(endpoints)
              .clusterSecret(
                  ClusterSecretCredentials.read(
                      CLUSTER, sites.values().iterator().next().dir().resolve("cluster.secret")),
                  "jepsen-harness")
              .callTimeout(Duration.ofSeconds(10))
              .build();
    }
    return client;
  }

  private static String control(Site s) {
    return s.ip() + ":7500";
  }

  private Site otherSite(Site s) {
    return s.id().equals("n1") ? sites.get("n2") : sites.get("n1");
  }

  /**
   * A member drawn at random among those that are not {@code active}: the other site, the witness.
   */
  private Site notActive(Site active, Random random) {
    List<Site> rest = new ArrayList<>(sites.values());
    rest.removeIf(s -> s.id().equals(active.id()));
    return rest.get(random.nextInt(rest.size()));
  }

  private long tokenOf(Site s) {
    return ProductPathTest.tokenOf(http, s);
  }

  private static long size(Path p) {
    try {
      return Files.exists(p) ? Files.size(p) : 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What was appended to {@code p} after {@code offset} bytes. */
  private static String since(Path p, long offset) {
    byte[] all;
    try {
      all = Files.exists(p) ? Files.readAllBytes(p) : new byte[0];
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int from = (int) Math.min(offset, all.length);
    return new String(all, from, all.length - from, StandardCharsets.UTF_8);
  }

  private static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p).strip() : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
