package dev.baton.jepsen;

import com.github.dockerjava.api.DockerClient;
import dev.baton.jepsen.ProductPathChecks.HeldTransaction;
import dev.baton.jepsen.ProductPathTest.Site;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * Four of the suite's nemeses done to {@code bin/baton sidecar} as a user's failure would happen to
 * it, for {@link ProductPathTest} (issue 39): no node-app hook, only what an operator, a broken
 * script, a stopped DNS server or a stalled writer does. Each returns what it hit, when, and how to
 * heal it; {@link ProductPathTest}'s {@code inject} then waits for the other site to take over
 * (active with a higher token, committing, the name moved) before it heals.
 *
 * <ul>
 *   <li>{@code switch-active}: the planned switchover an operator asks for, the CLI's {@code
 *       switch-active --to OTHER --config /site/node.yaml} run in the target's container against
 *       the control API, authenticated by the cluster secret the node's config names (README, "The
 *       CLI"; docs/operations/planned-maintenance.md). It must exit 0 ("OTHER is active with token
 *       N"). The old active's site must stay up: its demotion has its guard hold its server, so the
 *       successor's promotion does not have the fence agent power it off (before that fix it did,
 *       and the CLI's call to the old active ended UNAVAILABLE).
 *   <li>{@code health}: the marker {@code /site/unhealthy} created on the active; the sidecar's
 *       {@code exec} check {@code marker} ({@code test ! -e /site/unhealthy}) counts it down and
 *       the active hands the role over. Heal: the marker removed, and the site's check must count
 *       up again ({@code baton_health_check_up{check="marker"}} 1 on its {@code /metrics}).
 *   <li>{@code dns-pause}: BIND SIGSTOPped, then the active's site killed (SIGKILL of its
 *       container); BIND stays stopped until the other site's server is promoted (the postgres step
 *       done, the dns step next) and {@value #DNS_HELD_AFTER_PROMOTION_MS} ms more, so the dns step
 *       waits on it and must finish once BIND runs again. Heal: the killed site started again (not
 *       after the run's last fault, as {@code kill}).
 *   <li>{@code pg-paused-txn}: a transaction opened on the active's server as the product's writers
 *       write (the token from {@code /active}'s header, the name resolved through BIND, {@code
 *       BEGIN; SELECT baton.check_fence('jepsen', token)}, the next commit number, the insert) and
 *       held open while the other site takes over, the takeover caused in one of three ways drawn
 *       from the seed: the active's sidecar SIGSTOPped (the successor's promotion fences the
 *       reachable old primary and ends the session), its site cut off (the old active loses its
 *       lease and its demotion makes its server read-only, ending the session), or both (no one
 *       reaches the old primary: the fence's time bound refuses the COMMIT, BT008). Then its {@code
 *       COMMIT} is tried; the outcome is recorded ({@link #held}) and a commit makes the run
 *       INVALID ({@link ProductPathChecks#heldTransactions}). Heal: SIGCONT, then the cut healed.
 * </ul>
 */
final class ProductAppFaults {
  private static final Logger LOG = LoggerFactory.getLogger(ProductAppFaults.class);
  static final String HEALTH_MARKER = "/site/unhealthy";
  static final String HEALTH_CHECK = "marker";
  static final long DNS_HELD_AFTER_PROMOTION_MS = 3000;
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final Pattern CHECK_UP =
      Pattern.compile(
          "^baton_health_check_up\\{[^}]*check=\"" + HEALTH_CHECK + "\"[^}]*}\\s+1(\\.0)?\\s*$");

  /** What a fault hit, when it began (nanoTime), and how it is healed. */
  record Injected(Site target, long time, Runnable heal) {}

  private final ProductPathTest test;
  private final DockerClient docker = DockerClientFactory.instance().client();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
  private final List<HeldTransaction> held = new ArrayList<>();

  ProductAppFaults(ProductPathTest test) {
    this.test = test;
  }

  /** The held transactions of the {@code pg-paused-txn} faults so far, with their outcomes. */
  synchronized List<HeldTransaction> held() {
    return List.copyOf(held);
  }

  /**
   * Injects one fault of {@code kind} on the active: one of {@link NemesisKind#SWITCH_ACTIVE},
   * {@link NemesisKind#HEALTH}, {@link NemesisKind#DNS_PAUSE}, {@link NemesisKind#PG_PAUSED_TXN}.
   */
  Injected inject(
      NemesisKind kind,
      Site active,
      Site other,
      long token,
      Random random,
      List<Site> members,
      Collection<GenericContainer<?>> containers,
      String dnsIp,
      boolean last) {
    return switch (kind) {
      case SWITCH_ACTIVE -> switchActive(active, other);
      case HEALTH -> healthMarker(active);
      case DNS_PAUSE -> dnsPause(active, other, bind(containers), last);
      case PG_PAUSED_TXN -> pausedTransaction(active, other, token, random, members, dnsIp);
      default -> throw new IllegalArgumentException(kind.wireName() + " is not done here");
    };
  }

  // ------------------------------------------------------------------ switch-active

  private Injected switchActive(Site active, Site other) {
    String command =
        "java -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"
            + " @/site/classpath.args dev.baton.sidecar.Main switch-active --to "
            + other.id()
            + " --config /site/node.yaml --wait 60s";
    long t = System.nanoTime();
    // Exits 0 or throws: the old active hands the role over and answers once the switch is done,
    // and its site stays up (its guard holds its server; no STONITH of a planned hand-over).
    String out = exec(other, command);
    LOG.info(
        "product path: `baton switch-active --to {}` on {} after {} ms: {}",
        other.id(),
        other.id(),
        (System.nanoTime() - t) / 1_000_000,
        out.strip());
    if (!out.contains(other.id() + " is active with token")) {
      throw new IllegalStateException(
          "switch-active --to " + other.id() + " on " + other.id() + " printed: " + out);
    }
    return new Injected(active, t, () -> {});
  }

  // ------------------------------------------------------------------ health

  private Injected healthMarker(Site active) {
    Path marker = markerOf(active);
    long t = System.nanoTime();
    write(marker, "ProductAppFaults: unhealthy\n");
    return new Injected(
        active,
        t,
        () -> {
          try {
            Files.deleteIfExists(marker);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          Awaitility.await(active.id() + "'s health check " + HEALTH_CHECK + " counts up again")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(250))
              .ignoreExceptions()
              .until(() -> checkUp(active));
          LOG.info("product path: {}'s marker removed, its check is up again", active.id());
        });
  }

  /** The marker's path on the harness's side of the site's bind mount. */
  static Path markerOf(Site s) {
    return s.dir().resolve(Path.of(HEALTH_MARKER).getFileName().toString());
  }

  private boolean checkUp(Site s) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(s.url("/metrics")))
                .timeout(Duration.ofSeconds(2))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return r.statusCode() == 200 && r.body().lines().anyMatch(l -> CHECK_UP.matcher(l).matches());
  }

  // ------------------------------------------------------------------ dns-pause

  private static GenericContainer<?> bind(Collection<GenericContainer<?>> containers) {
    for (GenericContainer<?> c : containers) {
      String name = c.getContainerName();
      if (name != null && name.contains("baton-product-dns-")) {
        return c;
      }
    }
    throw new IllegalStateException("no DNS container among the run's containers");
  }

  private Injected dnsPause(Site active, Site other, GenericContainer<?> bind, boolean last) {
    docker.killContainerCmd(bind.getContainerId()).withSignal("STOP").exec();
    long stopped = System.nanoTime();
    long t;
    try {
      t = System.nanoTime();
      docker.killContainerCmd(active.container().getContainerId()).withSignal("KILL").exec();
      LOG.info("product path: BIND stopped, {}'s site killed", active.id());
      try {
        Awaitility.await(other.id() + "'s server promoted while BIND is stopped")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(200))
            .ignoreExceptions()
            .until(() -> !inRecovery(other));
        // The fault's hold, not a wait for a condition: the dns step is running against a
        // stopped server.
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(DNS_HELD_AFTER_PROMOTION_MS));
      } catch (ConditionTimeoutException e) {
        LOG.warn("product path: {}'s server not promoted within 60 s of the kill", other.id());
      }
    } finally {
      docker.killContainerCmd(bind.getContainerId()).withSignal("CONT").exec();
    }
    LOG.info(
        "product path: BIND running again after {} ms stopped",
        (System.nanoTime() - stopped) / 1_000_000);
    Runnable heal =
        last
            ? () -> {}
            : () -> {
              test.awaitStopped(active);
              docker.startContainerCmd(active.container().getContainerId()).exec();
              LOG.info("product path: site {} started again", active.id());
            };
    return new Injected(active, t, heal);
  }

  private static boolean inRecovery(Site s) throws SQLException {
    try (Connection c = connect(s.ip());
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  // ------------------------------------------------------------------ pg-paused-txn

  private Injected pausedTransaction(
      Site active, Site other, long token, Random random, List<Site> members, String dnsIp) {
    String value = active.id() + ".held-" + token + "-" + Long.toString(System.nanoTime(), 36);
    Connection c;
    long seq;
    String address;
    try {
      // As the product's writers: the name resolved through BIND, the fence checked first.
      address = resolve(dnsIp);
      c = connect(address);
      c.setAutoCommit(false);
      try (PreparedStatement check = c.prepareStatement("SELECT baton.check_fence(?, ?)")) {
        check.setString(1, StaleWriter.RESOURCE);
        check.setLong(2, token);
        check.executeQuery().close();
      }
      try (PreparedStatement next =
              c.prepareStatement(
                  "UPDATE jepsen.commit_order SET n = n + 1 WHERE id = 1 RETURNING n");
          ResultSet rs = next.executeQuery()) {
        rs.next();
        seq = rs.getLong(1);
      }
      try (PreparedStatement ins =
          c.prepareStatement(
              "INSERT INTO jepsen.writes (commit_seq, token, node, value) VALUES (?, ?, ?, ?)")) {
        ins.setLong(1, seq);
        ins.setLong(2, token);
        ins.setString(3, active.id());
        ins.setString(4, value);
        ins.executeUpdate();
      }
    } catch (IOException | SQLException e) {
      throw new IllegalStateException(
          "pg-paused-txn: opening the held transaction on " + active.id() + ": " + e, e);
    }
    // Who ends the held transaction: the successor's promotion, fencing the reachable old primary
    // (the old sidecar paused); the old active's own demotion, making its server read-only (its
    // site cut off: it loses its lease); or, with neither able to (paused and cut off), the fence's
    // time bound alone at COMMIT (BT008).
    int way = random.nextInt(3);
    boolean pause = way != 1;
    boolean cut = way != 0;
    String how =
        switch (way) {
          case 0 -> "its sidecar SIGSTOPped: the successor fences the old primary";
          case 1 -> "its site cut off: the old active demotes its own server";
          default -> "its sidecar SIGSTOPped and its site cut off: only the fence's time bound";
        };
    long t = System.nanoTime();
    if (pause) {
      Cluster.execIn(active.container(), active.id(), "kill -STOP $(cat /site/sidecar.pid)");
    }
    if (cut) {
      List<String> peers = members.stream().filter(m -> m != active).map(Site::ip).toList();
      Cluster.dropTraffic(active.container(), active.id(), peers);
    }
    // As the suite's: the paused sidecar wakes still cut off, then the cut is healed.
    Runnable undo =
        () -> {
          try {
            if (pause) {
              Cluster.execIn(
                  active.container(), active.id(), "kill -CONT $(cat /site/sidecar.pid)");
            }
            if (cut) {
              Cluster.flushTraffic(active.container(), active.id());
            }
          } catch (RuntimeException e) {
            // The successor's promotion had the fence agent power the site off (the paused way):
            // nothing of the fault is left to undo, and the agent powers the site on.
            LOG.info(
                "product path: {}'s pause or cut not undone ({}): its site was powered off?",
                active.id(),
                e.toString());
          }
        };
    LOG.info(
        "product path: {} holds {} (commit #{}, token {}) open on {} ({}), {}",
        "the harness",
        value,
        seq,
        token,
        active.id(),
        address,
        how);
    Connection open = c;
    return new Injected(
        active,
        t,
        () -> {
          // Called once the other site took over: the held transaction's COMMIT is tried now.
          long successor = test.tokenOf(other);
          String outcome;
          try {
            open.commit();
            outcome = HeldTransaction.COMMITTED;
          } catch (SQLException e) {
            outcome =
                (e.getSQLState() == null ? "error" : e.getSQLState())
                    + " "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse("");
          } finally {
            try {
              open.close();
            } catch (SQLException ignored) {
              // Ended by the fence: nothing to close.
            }
          }
          HeldTransaction h =
              new HeldTransaction(active.id(), token, value, seq, successor, how, outcome);
          synchronized (this) {
            held.add(h);
          }
          LOG.info("product path: held transaction {}", h);
          undo.run();
        });
  }

  private static Connection connect(String address) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "2");
    p.setProperty("socketTimeout", "10");
    return DriverManager.getConnection("jdbc:postgresql://" + address + ":5432/postgres", p);
  }

  private static String resolve(String dnsIp) throws IOException {
    SimpleResolver resolver = new SimpleResolver(InetAddress.getByName(dnsIp));
    resolver.setTimeout(Duration.ofMillis(1000));
    Name name = Name.fromString("app." + Cluster.DNS_ZONE + ".");
    Message answer = resolver.send(Message.newQuery(Record.newRecord(name, Type.A, DClass.IN)));
    for (Record r : answer.getSection(Section.ANSWER)) {
      if (r instanceof ARecord a) {
        return a.getAddress().getHostAddress();
      }
    }
    throw new IOException("no A record for " + name);
  }

  // ------------------------------------------------------------------ helpers

  /** Runs {@code script} under {@code sh -c} in the site's container; returns stdout and stderr. */
  private static String exec(Site s, String script) {
    try {
      ExecResult r = s.container().execInContainer("sh", "-c", script);
      String out = r.getStdout() + r.getStderr();
      if (r.getExitCode() != 0) {
        throw new IllegalStateException(
            "on " + s.id() + ": `" + script + "` failed (" + r.getExitCode() + "): " + out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void write(Path p, String text) {
    try {
      Files.writeString(p, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
