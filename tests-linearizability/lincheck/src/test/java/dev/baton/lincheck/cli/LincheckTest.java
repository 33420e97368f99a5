package dev.baton.lincheck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LincheckTest {
  @TempDir Path dir;

  private Path good;
  private Path bad;
  private Path malformed;
  private Path hard;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void files() throws IOException {
    good =
        write(
            "good.jsonl",
            """
            {"process":0,"type":"invoke","f":"write","value":1,"time":10}
            {"process":0,"type":"ok","f":"write","value":1,"time":20}
            {"process":1,"type":"invoke","f":"read","value":null,"time":30}
            {"process":1,"type":"ok","f":"read","value":1,"time":40}
            """);
    bad =
        write(
            "bad.edn",
            """
            {:process 0, :type :invoke, :f :write, :value 1}
            {:process 0, :type :ok, :f :write, :value 1}
            {:process 1, :type :invoke, :f :read, :value nil}
            {:process 1, :type :ok, :f :read, :value 0}
            """);
    malformed =
        write(
            "malformed.log",
            "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:done\t:write\t1\n");
    List<String> lines = new ArrayList<>();
    for (int p = 0; p < 22; p++) {
      lines.add("INFO  jepsen.util - " + p + "\t:invoke\t:write\t" + p);
    }
    for (int p = 0; p < 22; p++) {
      lines.add("INFO  jepsen.util - " + p + "\t:ok\t:write\t" + p);
    }
    lines.add("INFO  jepsen.util - 99\t:invoke\t:read\tnil");
    lines.add("INFO  jepsen.util - 99\t:ok\t:read\t-1");
    hard = write("hard.log", String.join("\n", lines) + "\n");
  }

  private Path write(String name, String content) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, content);
    return p;
  }

  private int run(String... args) {
    return Lincheck.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  @Test
  void allLinearizableExitsZero() {
    assertThat(run("--model", "register", good.toString())).isZero();
    assertThat(out.toString())
        .matches("(?s)\\Q" + good + "\\E: LINEARIZABLE \\(2 operations, \\d+ ms\\)\\n");
  }

  @Test
  void anyNotLinearizableExitsOne() {
    assertThat(run("--model", "register", "--initial", "0", good.toString(), bad.toString()))
        .isEqualTo(1);
    String[] lines = out.toString().split("\n");
    assertThat(lines).hasSize(2);
    assertThat(lines[1])
        .startsWith(bad + ": NOT_LINEARIZABLE (2 operations, ")
        .contains(
            "p1 read -> 0 ok (lines 3-4) cannot be ordered after the longest consistent prefix");
    assertThat(err.toString()).contains("2 files: 1 linearizable, 1 not linearizable");
  }

  @Test
  void theInitialValueMatters() throws IOException {
    assertThat(run("--model", "register", "--initial", "0", bad.toString())).isEqualTo(1);
    out.getBuffer().setLength(0);
    assertThat(
            run(
                "--model",
                "register",
                write(
                        "zero.log",
                        "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t0\n")
                    .toString(),
                "--initial",
                "0"))
        .isZero();
  }

  @Test
  void nilReadIsUnknownByDefaultAndAbsentOnRequest() throws IOException {
    // A JSON Lines history and its EDN twin: a completed write of 1, then a read of null/nil.
    Path jsonl =
        write(
            "nil.jsonl",
            """
            {"process":0,"type":"invoke","f":"write","value":1}
            {"process":0,"type":"ok","f":"write","value":1}
            {"process":1,"type":"invoke","f":"read","value":null}
            {"process":1,"type":"ok","f":"read","value":null}
            """);
    Path edn =
        write(
            "nil.edn",
            """
            {:process 0, :type :invoke, :f :write, :value 1}
            {:process 0, :type :ok, :f :write, :value 1}
            {:process 1, :type :invoke, :f :read, :value nil}
            {:process 1, :type :ok, :f :read, :value nil}
            """);
    assertThat(run("--model", "cas-register", "--initial", "0", jsonl.toString(), edn.toString()))
        .isZero();
    assertThat(out.toString())
        .contains(jsonl + ": LINEARIZABLE (2 operations")
        .contains(edn + ": LINEARIZABLE (2 operations");
    out.getBuffer().setLength(0);
    assertThat(
            run(
                "--model",
                "cas-register",
                "--nil-read",
                "absent",
                jsonl.toString(),
                edn.toString()))
        .isEqualTo(1);
    assertThat(out.toString())
        .contains(jsonl + ": NOT_LINEARIZABLE")
        .contains(edn + ": NOT_LINEARIZABLE")
        .contains("p1 read nil ok (lines 3-4) cannot be ordered");
    assertThat(run("--model", "register", "--nil-read", "maybe", jsonl.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("--nil-read: expected unknown").contains("'maybe'");
  }

  @Test
  void unreadableExitsTwoWithTheReason() {
    assertThat(run("--model", "register", good.toString(), malformed.toString())).isEqualTo(2);
    assertThat(out.toString())
        .contains(malformed + ": UNREADABLE: " + malformed + ":2: unknown event type ':done'");
    out.getBuffer().setLength(0);
    assertThat(run("--model", "register", dir.resolve("absent.log").toString())).isEqualTo(2);
    assertThat(out.toString()).contains("absent.log: UNREADABLE: no such file");
  }

  @Test
  void notLinearizableWinsOverUnreadable() {
    assertThat(run("--model", "register", bad.toString(), malformed.toString(), "-i", "0"))
        .isEqualTo(1);
  }

  @Test
  void unknownExitsTwoWithTheReason() {
    long t0 = System.nanoTime();
    assertThat(run("--model", "register", "--timeout", "200ms", hard.toString())).isEqualTo(2);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
    assertThat(out.toString())
        .contains(": UNKNOWN (23 operations, ")
        .contains("time budget exhausted");
  }

  @Test
  void badArgumentsExitTwo() {
    assertThat(run("--model", "queue", good.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("unknown model 'queue'");
    assertThat(run(good.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("Missing required option: '--model=NAME'");
    assertThat(run("--model", "register", "--initial", "[1", good.toString())).isEqualTo(2);
  }

  @Test
  void jsonOutput() throws IOException {
    assertThat(
            run(
                "--model",
                "register",
                "-i",
                "0",
                "--json",
                good.toString(),
                bad.toString(),
                malformed.toString()))
        .isEqualTo(1);
    ObjectMapper json = new ObjectMapper();
    String[] lines = out.toString().split("\n");
    assertThat(lines).hasSize(3);
    JsonNode first = json.readTree(lines[0]);
    assertThat(first.get("verdict").asText()).isEqualTo("LINEARIZABLE");
    assertThat(first.get("operations").asInt()).isEqualTo(2);
    assertThat(first.get("millis").isIntegralNumber()).isTrue();
    JsonNode second = json.readTree(lines[1]);
    assertThat(second.get("verdict").asText()).isEqualTo("NOT_LINEARIZABLE");
    assertThat(second.at("/explanation/longestPrefix/0").asText()).startsWith("p0 write 1 ok");
    assertThat(second.at("/explanation/stateAfterPrefix").asText()).isEqualTo("1");
    assertThat(second.at("/explanation/unorderable/0/operation").asText())
        .startsWith("p1 read -> 0");
    JsonNode third = json.readTree(lines[2]);
    assertThat(third.get("verdict").asText()).isEqualTo("UNREADABLE");
    assertThat(third.get("reason").asText()).contains(":2:");
  }

  @Test
  void reportsWithATimeline() throws IOException {
    Path reports = dir.resolve("reports");
    assertThat(
            run(
                "--model",
                "register",
                "-i",
                "0",
                "--report",
                reports.toString(),
                "--explain",
                good.toString(),
                bad.toString()))
        .isEqualTo(1);
    String badHtml = Files.readString(reports.resolve("bad.edn.html"));
    assertThat(badHtml).contains("<svg").contains("order breaks here").contains("NOT_LINEARIZABLE");
    assertThat(badHtml).contains(">p1<").contains("p0 write 1 ok (lines 1-2) - #1 in the prefix");
    String goodHtml = Files.readString(reports.resolve("good.jsonl.html"));
    assertThat(goodHtml).contains("<svg").doesNotContain("order breaks here");
    assertThat(out.toString())
        .contains("Longest consistent prefix: 1 operation, leaving the state 1")
        .contains("report: " + reports.resolve("bad.edn.html"));
  }

  @Test
  void durationsAndSizes() {
    assertThat(Lincheck.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Lincheck.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Lincheck.parseDuration("PT3S")).isEqualTo(Duration.ofSeconds(3));
    assertThat(Lincheck.parseSize("256m")).isEqualTo(256L << 20);
    assertThat(Lincheck.parseSize("2g")).isEqualTo(2L << 30);
  }
}
