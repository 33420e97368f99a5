package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.baton.testing.postgres.PostgresServer;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The non-Java writer of examples/python-fenced-writer, run as a real process (Debian's {@code
 * /usr/bin/python3} with psycopg2) against a real PostgreSQL: the SQL fence protocol admits the
 * current token and refuses a stale one with BT001, writing nothing.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class PythonFencedWriterTest {
  /** Debian's interpreter, which python3-psycopg2 serves ({@code -Dbaton.python} overrides). */
  private static final Path PYTHON =
      Path.of(System.getProperty("baton.python", "/usr/bin/python3"));

  private static final Pattern LINE =
      Pattern.compile(
          "\\{\"seq\": (\\d+), \"token\": (\\d+|null), \"outcome\": \"(\\w+)\","
              + " \"sqlstate\": (?:\"(\\w+)\"|null), \"message\": (.*), \"t\": (\\d+)}");

  private static PostgresServer server;
  private static DataSource raw;
  private static Path script;

  /** Why the interpreter cannot run the writer, or null when it can. */
  private static String pythonMissing;

  @BeforeAll
  static void start() throws Exception {
    String missing = psycopg2Missing();
    if (missing != null) {
      pythonMissing =
          "the Python fenced writer needs "
              + PYTHON
              + " with psycopg2 (scripts/install-deps installs python3-psycopg2): "
              + missing;
      return;
    }
    script = findScript();
    server = PostgresServer.startPrimary("pywriter");
    raw = server.dataSource();
  }

  /** Each test is reported as skipped, with the reason, where psycopg2 is missing; CI fails. */
  @BeforeEach
  void requirePython() {
    if (pythonMissing != null) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(pythonMissing);
      }
      System.err.println("PythonFencedWriterTest skipped: " + pythonMissing);
      Assumptions.assumeTrue(false, pythonMissing);
    }
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void theCurrentTokenCommitsAndAfterAnAdvanceTheSameTokenIsRefusedWithBt001() throws Exception {
    String resource = "py-fixed";
    String table = "py_fixed_writes";
    PostgresFence fence = fence(resource);
    fence.advance(7, Duration.ofSeconds(10));

    Writer ok = Writer.start(args(resource, table, "--token", "7", "--count", "2"));
    assertThat(ok.process.waitFor(60, TimeUnit.SECONDS)).as("writer exits").isTrue();
    ok.awaitOutputClosed();
    assertThat(ok.process.exitValue()).as(ok.describe()).isZero();
    assertThat(ok.outcomes()).as(ok.describe()).containsExactly("ok 7", "ok 7");
    assertThat(rows(table)).isEqualTo("7,7");

    fence.advance(8, Duration.ofSeconds(10)); // the promotion's UPDATE of the fence row
    Writer stale =
        Writer.start(args(resource, table, "--token", "7", "--count", "1", "--max-attempts", "2"));
    assertThat(stale.process.waitFor(60, TimeUnit.SECONDS)).as("writer exits").isTrue();
    stale.awaitOutputClosed();
    assertThat(stale.process.exitValue()).as(stale.describe()).isEqualTo(1);
    assertThat(stale.outcomes())
        .as(stale.describe())
        .containsExactly("refused 7 BT001", "refused 7 BT001");
    assertThat(stale.lines.get(0))
        .contains("offered token 7, the fence holds token 8 (a newer active has taken over)");
    assertThat(rows(table)).as("nothing written with the stale token").isEqualTo("7,7");
  }

  @Test
  void aRunningWriterIsRefusedOnceTheFenceMovesAndFollowsTheTokenEndpoint() throws Exception {
    String resource = "py-url";
    String table = "py_url_writes";
    PostgresFence fence = fence(resource);
    fence.advance(3, Duration.ofSeconds(10));
    AtomicLong served = new AtomicLong(3);
    HttpServer http =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext(
        "/token",
        exchange -> {
          byte[] body =
              ("{\"token\": " + served.get() + ", \"node\": \"n1\", \"leaseRemainingMillis\": 900}")
                  .getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    http.start();
    String url = "http://127.0.0.1:" + http.getAddress().getPort() + "/token";
    Writer w = Writer.start(args(resource, table, "--token-url", url));
    try {
      await("a commit with token 3")
          .atMost(Duration.ofSeconds(30))
          .until(() -> w.outcomes().contains("ok 3"));
      // The running writer holds the row FOR SHARE in each transaction; the advance waits for
      // the one in flight and then every later transaction with token 3 is refused.
      fence.advance(4, Duration.ofSeconds(10));
      await("a refusal of token 3 after the advance")
          .atMost(Duration.ofSeconds(30))
          .until(() -> w.outcomes().contains("refused 3 BT001"));
      // Every commit with token 3 preceded the advance, and so its line preceded the refusal.
      long okWith3 = w.outcomes().stream().filter("ok 3"::equals).count();
      assertThat(server.queryLong("SELECT count(*) FROM " + table + " WHERE token = 3"))
          .isEqualTo(okWith3);
      assertThat(w.outcomes()).doesNotContain("ok 4");

      served.set(4); // the endpoint catches up: the writer re-reads it after each failure
      await("a commit with token 4")
          .atMost(Duration.ofSeconds(30))
          .until(() -> w.outcomes().contains("ok 4"));
      // One reading of the outcomes: the writer keeps adding lines while the test reads them.
      List<String> seen = w.outcomes();
      int refusal = seen.indexOf("refused 3 BT001");
      assertThat(seen.subList(refusal, seen.size()))
          .as(w.describe())
          .allMatch(o -> o.equals("refused 3 BT001") || o.equals("ok 4"));
    } finally {
      w.process.destroy();
      w.process.waitFor(30, TimeUnit.SECONDS);
      http.stop(0);
    }
    assertThat(server.queryLong("SELECT count(*) FROM " + table + " WHERE token NOT IN (3, 4)"))
        .isZero();
  }

  // ---------------------------------------------------------------------------------------------

  private static PostgresFence fence(String resource) {
    return PostgresFence.builder(raw).resource(resource).terminateBlockersAfter(null).build();
  }

  private static String rows(String table) {
    return server.queryString(
        "SELECT coalesce(string_agg(token::text, ',' ORDER BY id), '') FROM " + table);
  }

  private static List<String> args(String resource, String table, String... more) {
    List<String> a = new ArrayList<>(List.of("--resource", resource, "--table", table));
    a.addAll(List.of("--interval-ms", "10"));
    a.addAll(List.of(more));
    return a;
  }

  /** A running writer process and the lines it has printed so far. */
  private static final class Writer {
    final Process process;
    final List<String> lines = new CopyOnWriteArrayList<>();
    final StringBuffer stderr = new StringBuffer();
    private final Thread stdoutReader;

    private Writer(Process process) {
      this.process = process;
      this.stdoutReader = drain(process.getInputStream(), lines::add, "stdout");
      drain(process.getErrorStream(), l -> stderr.append(l).append('\n'), "stderr");
    }

    static Writer start(List<String> args) throws IOException {
      List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), script.toString()));
      cmd.addAll(args);
      ProcessBuilder pb =
          new ProcessBuilder(cmd)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
      // The DSN from the environment, as a deployment passes it; trust auth, so no password.
      pb.environment()
          .put(
              "BATON_WRITER_DSN",
              "host="
                  + server.host()
                  + " port="
                  + server.port()
                  + " dbname=postgres user=postgres");
      return new Writer(pb.start());
    }

    void awaitOutputClosed() throws InterruptedException {
      stdoutReader.join(TimeUnit.SECONDS.toMillis(30));
    }

    /** Each line as "outcome token [sqlstate]", e.g. "ok 7", "refused 7 BT001". */
    List<String> outcomes() {
      List<String> out = new ArrayList<>();
      for (String l : lines) {
        Matcher m = LINE.matcher(l);
        if (!m.matches()) {
          throw new AssertionError("not a writer line: " + l);
        }
        out.add(m.group(3) + " " + m.group(2) + (m.group(4) == null ? "" : " " + m.group(4)));
      }
      return out;
    }

    String describe() {
      return "stdout:\n" + String.join("\n", lines) + "\nstderr:\n" + stderr;
    }

    private static Thread drain(
        java.io.InputStream in, java.util.function.Consumer<String> sink, String name) {
      Thread t =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                  for (String l = r.readLine(); l != null; l = r.readLine()) {
                    sink.accept(l);
                  }
                } catch (IOException ignored) {
                  // the process is gone
                }
              },
              "python-writer-" + name);
      t.setDaemon(true);
      t.start();
      return t;
    }
  }

  private static String psycopg2Missing() throws InterruptedException {
    if (!Files.isExecutable(PYTHON)) {
      return PYTHON + " does not exist";
    }
    try {
      Process p =
          new ProcessBuilder(PYTHON.toString(), "-c", "import psycopg2")
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "'import psycopg2' did not finish";
      }
      return p.exitValue() == 0 ? null : out;
    } catch (IOException e) {
      return e.getMessage();
    }
  }

  private static Path findScript() {
    Path rel = Path.of("examples", "python-fenced-writer", "fenced_writer.py");
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve(rel))) {
        return d.resolve(rel);
      }
    }
    throw new IllegalStateException("no " + rel + " above " + Path.of("").toAbsolutePath());
  }
}
