package dev.baton.jepsen;

import dev.baton.jepsen.ProductPathChecks.Fault;
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
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.Container.ExecResult;

/**
 * The {@code clock} fault on the product path ({@link ProductPathTest}): one member's sidecar is
 * restarted with its whole JVM's clock running at a rate drawn from the suite's {@link
 * Nemesis#CLOCK_RATES}, then restarted at the normal rate (the heal). The sidecar has no clock-rate
 * hook and needs none: the site's start script runs it under libfaketime ({@code
 * libfaketimeMT.so.1} from the node image's {@code libfaketime} package, {@code FAKETIME="+0
 * x<rate>"}) while the site's directory holds a {@code clock-rate} file ({@link #LOOP_LINE}). Then
 * {@code System.nanoTime()}, {@code currentTimeMillis()}, {@code Thread.sleep} and every timed wait
 * of that JVM run at the rate: its lease, its Ratis election timers, its fence-lease renewals and
 * its health checks all drift, which is what a drifted host does, unlike the node app's {@code
 * NodeApp.drifted}, which can drift only the lease's ticker and so shortens the election timeouts
 * by hand. Only the sidecar drifts: the site's PostgreSQL and writer were started by the start
 * script without the preload, and what the sidecar starts ({@code pg_ctl}, {@code pg_rewind}) gets
 * only {@code ChildEnvironment}'s allow-list, which has neither {@code LD_PRELOAD} nor {@code
 * FAKETIME}.
 *
 * <p>The rates stay within the drift bound the cluster states ({@link #DRIFT_BOUND} in every node's
 * {@code timing.clockDrift}, docs/lease.md): this fault shows that a drift the bound covers costs
 * no safety, not what an unbounded one does (the suite's unsafe self-test does that).
 *
 * <p>That the sidecar really drifts is checked on the restarted process itself, not assumed: its
 * {@code /proc/<pid>/environ} holds the {@code FAKETIME} asked for and its {@code /proc/<pid>/maps}
 * the library, and its clock, read twice from its status page ({@code GET /}: "at {@code
 * Instant.now()}"), advanced at the rate against the harness's {@code System.nanoTime()} (bounds
 * from the requests' round trips, which must contain the rate and exclude 1). What was seen goes
 * into the fault's description ({@link Fault#detail}).
 */
final class ProductClock {
  private static final Logger LOG = LoggerFactory.getLogger(ProductClock.class);

  /**
   * The bound on clock-rate differences that every node's {@code timing.clockDrift} states: it
   * covers {@link Nemesis#CLOCK_RATES} (0.92 to 1.08 of true time, one node at a time).
   */
  static final double DRIFT_BOUND = 0.1;

  /**
   * The start script's line before the sidecar's {@code java} (which it runs as {@code "$@" java
   * ...}): with a rate in {@code /site/clock-rate}, {@code env} runs the JVM preloaded with
   * libfaketime at that rate; without one, the JVM runs as it is. The variables are that command's
   * only: the site's other processes never see them.
   */
  static final String LOOP_LINE =
      "  set --; [ -s /site/clock-rate ] && set -- env"
          + " LD_PRELOAD=/usr/lib/$(uname -m)-linux-gnu/faketime/libfaketimeMT.so.1"
          + " \"FAKETIME=+0 x$(cat /site/clock-rate)\"";

  /** Starts the line the fault writes into the sidecar's log before each SIGKILL of it. */
  static final String RESTART_MARK = "harness: clock fault:";

  /** How long the drifted sidecar's clock is watched at least (two readings this far apart). */
  private static final Duration WATCHED = Duration.ofSeconds(15);

  /**
   * The longest round trip of a reading that is used: with two such readings 15 s apart the bounds
   * are within about 0.014 of the rate, so 1 (no drift) is outside them for every rate drawn.
   */
  private static final Duration TIGHT = Duration.ofMillis(100);

  private static final Duration UP = Duration.ofSeconds(120);
  private static final Pattern STATUS_NOW = Pattern.compile(", at (\\S+)\\. Reloads every");

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
  private final Site site;
  private final double rate;
  private final String oldPid;

  private ProductClock(Site site, double rate, String oldPid) {
    this.site = site;
    this.rate = rate;
    this.oldPid = oldPid;
  }

  static double drawRate(Random random) {
    return Nemesis.CLOCK_RATES[random.nextInt(Nemesis.CLOCK_RATES.length)];
  }

  /**
   * The fault: writes {@code rate} into {@code site}'s rate file and SIGKILLs its sidecar, as the
   * suite's clock nemesis restarts a node; the site's restart loop starts it again drifted.
   */
  static ProductClock inject(Site site, double rate) {
    String pid = pid(site);
    write(site, String.format(Locale.ROOT, "%s%n", rate));
    kill(site, pid);
    LOG.info(
        "product path: {}'s sidecar (pid {}) killed, to restart at clock rate {}",
        site.id(),
        pid,
        rate);
    return new ProductClock(site, rate, pid);
  }

  /**
   * Confirms and measures the drift on the restarted sidecar, records it as the detail of the last
   * fault in {@code faults} (this one), then heals: the rate file removed and the sidecar SIGKILLed
   * again, so the loop starts it at the normal rate, which is checked on the new process too.
   */
  void heal(List<Fault> faults) {
    // The drifted sidecar runs on while the rest of the run goes on; its clock is read when it
    // answers and again once WATCHED has passed by the harness's clock (a bounded poll, not a sleep
    // of the test). A sidecar that exits by itself meanwhile (its loop restarts it, drifted again)
    // starts the watch over: its clock starts from true time again.
    String[] drifted = {awaitRestarted(oldPid, true)};
    Reading[] first = {null};
    Reading second =
        Awaitility.await(site.id() + "'s drifted sidecar runs " + WATCHED.toSeconds() + " s")
            .atMost(WATCHED.plus(UP))
            .pollInterval(Duration.ofMillis(500))
            .ignoreExceptions()
            .until(
                () -> {
                  if (!pid(site).equals(drifted[0])) {
                    LOG.info("product path: {}'s drifted sidecar exited by itself", site.id());
                    drifted[0] = awaitRestarted(drifted[0], true);
                    first[0] = null;
                  }
                  Reading r = read();
                  if (r.after() - r.before() > TIGHT.toNanos()) {
                    return null; // a slow round trip: its bounds would be too wide
                  }
                  if (first[0] == null) {
                    first[0] = r;
                    return null;
                  }
                  return r.before() - first[0].after() >= WATCHED.toNanos() ? r : null;
                },
                r -> r != null);
    Reading first0 = first[0];
    double elapsed = Duration.between(first0.sidecar(), second.sidecar()).toNanos() / 1e9;
    double slowest = elapsed / ((second.after() - first0.before()) / 1e9);
    double fastest = elapsed / ((second.before() - first0.after()) / 1e9);
    double mid =
        elapsed / (((second.before() + second.after()) - (first0.before() + first0.after())) / 2e9);
    String pgEnv = postgresPreloaded();
    String detail =
        String.format(
            Locale.ROOT,
            "sidecar restarted at clock rate %s (pid %s: FAKETIME=+0 x%s in its environ,"
                + " libfaketimeMT in its maps); its wall clock (status page) ran at %.4f (%.4f to"
                + " %.4f) of the harness's over %.1f s; %s",
            rate,
            drifted[0],
            rate,
            mid,
            slowest,
            fastest,
            (second.before() - first0.after()) / 1e9,
            pgEnv);
    replaceLast(faults, detail);
    LOG.info("product path: clock fault of {}: {}", site.id(), detail);
    if (!(slowest <= rate && rate <= fastest) || (slowest <= 1.0 && 1.0 <= fastest)) {
      throw new AssertionError(
          site.id()
              + "'s sidecar was to run at clock rate "
              + rate
              + " but its status page's clock ran at "
              + slowest
              + " to "
              + fastest
              + " of the harness's: "
              + detail);
    }
    delete(site);
    kill(site, drifted[0]);
    String healed = awaitRestarted(drifted[0], false);
    LOG.info("product path: {}'s sidecar restarted at the normal rate (pid {})", site.id(), healed);
  }

  private void replaceLast(List<Fault> faults, String detail) {
    Fault last = faults.get(faults.size() - 1);
    if (!last.kind().equals(NemesisKind.CLOCK.wireName()) || !last.node().equals(site.id())) {
      throw new IllegalStateException("the last fault is not this clock fault: " + last);
    }
    faults.set(faults.size() - 1, last.withDetail(detail));
  }

  /**
   * Waits until the site's loop has started a sidecar other than {@code before} and its process
   * shows the preload ({@code drifted}) or not; returns its pid.
   */
  private String awaitRestarted(String before, boolean drifted) {
    String want =
        drifted ? "with FAKETIME=+0 x" + rate + " and libfaketime" : "without libfaketime";
    return Awaitility.await(site.id() + "'s sidecar restarted " + want)
        .atMost(UP)
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(
            () -> {
              String pid = pid(site);
              if (pid.equals(before)) {
                return null;
              }
              String env = exec("tr '\\0' '\\n' < /proc/" + pid + "/environ");
              String maps = exec("cat /proc/" + pid + "/maps");
              boolean preloaded =
                  env.lines().anyMatch(l -> l.equals("FAKETIME=+0 x" + rate))
                      && maps.contains("libfaketimeMT");
              boolean clean = !env.contains("FAKETIME=") && !maps.contains("libfaketime");
              // Still `env` (before it execs java) or a JVM without the preload: not yet.
              return (drifted ? preloaded : clean)
                      && exec("cat /proc/" + pid + "/cmdline").contains("dev.baton.sidecar.Main")
                  ? pid
                  : null;
            },
            p -> p != null);
  }

  /**
   * Whether the site's running PostgreSQL (its postmaster, perhaps started by the drifted sidecar's
   * rejoin) has the preload in its environment. Read as the {@code postgres} user: root in the
   * container lacks {@code CAP_SYS_PTRACE}, so another user's {@code environ} is closed to it.
   */
  private String postgresPreloaded() {
    if (site.id().startsWith("w")) {
      return "the witness runs no PostgreSQL";
    }
    try {
      String pid = exec("head -1 /var/lib/postgresql/data/postmaster.pid").trim();
      String env =
          exec("runuser -u postgres -- sh -c \"tr '\\\\0' '\\\\n' < /proc/" + pid + "/environ\"");
      if (env.isBlank()) {
        return "the site's PostgreSQL (pid " + pid + ") has an empty environment: not checked";
      }
      return env.contains("FAKETIME=") || env.contains("libfaketime")
          ? "the site's PostgreSQL (pid " + pid + ") has the preload in its environment: it drifts"
          : "the site's PostgreSQL (pid " + pid + ") has no FAKETIME or LD_PRELOAD: true time";
    } catch (RuntimeException e) {
      return "the site's PostgreSQL could not be checked (" + e.getMessage().strip() + ")";
    }
  }

  /** One reading of the sidecar's clock, between two readings of the harness's (nanoTime). */
  record Reading(long before, Instant sidecar, long after) {}

  /**
   * Reads the sidecar's clock from its status page; of a few tries, the one with the shortest round
   * trip (the tightest bounds).
   */
  private Reading read() {
    Reading best = null;
    for (int i = 0; i < 5; i++) {
      Reading r = readOnce();
      if (r != null && (best == null || r.after() - r.before() < best.after() - best.before())) {
        best = r;
      }
    }
    if (best == null) {
      throw new IllegalStateException(site.id() + "'s status page did not answer with its clock");
    }
    return best;
  }

  private Reading readOnce() {
    try {
      HttpRequest req =
          HttpRequest.newBuilder(URI.create(site.url("/")))
              .timeout(Duration.ofSeconds(2))
              .GET()
              .build();
      long before = System.nanoTime();
      HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
      long after = System.nanoTime();
      Matcher m = STATUS_NOW.matcher(r.body());
      return r.statusCode() == 200 && m.find()
          ? new Reading(before, Instant.parse(m.group(1)), after)
          : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static String pid(Site s) {
    try {
      return Files.readString(s.dir().resolve("sidecar.pid"), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * SIGKILLs {@code s}'s sidecar, after a line in its log that starts with {@link #RESTART_MARK}:
   * the run counts the sidecar's exits that the fault did not cause.
   */
  private static void kill(Site s, String pid) {
    try {
      Files.writeString(
          s.dir().resolve("sidecar.log"),
          RESTART_MARK + " SIGKILL of the sidecar (pid " + pid + ") to restart it\n",
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Cluster.execIn(s.container(), s.id(), "kill -KILL " + pid);
  }

  static Path rateFile(Site s) {
    return s.dir().resolve("clock-rate");
  }

  private static void write(Site s, String content) {
    try {
      Files.writeString(rateFile(s), content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void delete(Site s) {
    try {
      Files.deleteIfExists(rateFile(s));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String exec(String script) {
    try {
      ExecResult r = site.container().execInContainer("sh", "-c", script);
      if (r.getExitCode() != 0) {
        throw new IllegalStateException(
            "`" + script + "` failed (" + r.getExitCode() + "): " + r.getStderr());
      }
      return r.getStdout();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
