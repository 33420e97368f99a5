package dev.baton.lincheck.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.lincheck.Event;
import dev.baton.lincheck.EventType;
import dev.baton.lincheck.History;
import dev.baton.lincheck.HistoryFormatException;
import dev.baton.lincheck.Keyword;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.Outcome;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HistoryFilesTest {

  @TempDir Path dir;

  private Path write(String name, String content) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, content);
    return p;
  }

  @Nested
  class Edn {
    @Test
    void oneMapPerLineAsJepsenWritesIt() throws IOException {
      Path p =
          write(
              "history.edn",
              """
              {:type :invoke, :f :cas, :value [1 2], :time 100, :process 0, :index 0}
              {:type :info, :f :start, :value nil, :time 150, :process :nemesis, :index 1}
              {:type :ok, :f :cas, :value [1 2], :time 200, :process 0, :index 2}
              {:type :invoke, :f :read, :value nil, :time 300, :process 1, :index 3}
              {:type :fail, :f :read, :value nil, :time 400, :process 1, :index 4, :error :timeout}
              """);
      History h = HistoryFiles.read(p);
      assertThat(h.events()).hasSize(4); // the nemesis op is not a client operation
      assertThat(h.isTimed()).isTrue();
      Operation cas = h.operations().get(0);
      assertThat(cas.f()).isEqualTo("cas");
      assertThat(cas.input()).isEqualTo(List.of(1L, 2L));
      assertThat(cas.outcome()).isEqualTo(Outcome.OK);
      assertThat(cas.invocation().index()).isZero();
      assertThat(cas.completion().line()).isEqualTo(3);
      assertThat(h.operations().get(1).outcome()).isEqualTo(Outcome.FAIL);
    }

    @Test
    void aVectorOfMapsWithTaggedRecords() throws IOException {
      Path p =
          write(
              "history.edn",
              """
              [#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, :f :write, :value 3}
               #jepsen.history.Op{:index 1, :time 2, :type :ok, :process 0, :f :write, :value 3}
               ; a comment
               {:index 2, :time 3, :type :invoke, :process 1, :f :read, :value nil}
               {:index 3, :time 4, :type :ok, :process 1, :f :read, :value 3}]
              """);
      History h = HistoryFiles.read(p);
      assertThat(h.operations()).hasSize(2);
      assertThat(h.operations().get(1).output()).isEqualTo(3L);
      assertThat(h.operations().get(1).invocation().line()).isEqualTo(4);
    }

    @Test
    void valuesOfEveryShape() {
      Object v =
          EdnParser.parseOne(
              "{:a [1 -2 3N 99999999999999999999] :b #{\"x\\ty\"} :c (nil true false) :d 1.5"
                  + " :e \\c :f sym #_ :ignored :g :h/i}");
      assertThat(v).isInstanceOf(Map.class);
      Map<?, ?> m = (Map<?, ?>) v;
      assertThat(m.get(Keyword.of("a")))
          .isEqualTo(List.of(1L, -2L, 3L, new BigInteger("99999999999999999999")));
      assertThat(m.get(Keyword.of("b"))).isEqualTo(Set.of("x\ty"));
      assertThat(m.get(Keyword.of("c"))).isEqualTo(java.util.Arrays.asList(null, true, false));
      assertThat(m.get(Keyword.of("d"))).isEqualTo(1.5);
      assertThat(m.get(Keyword.of("e"))).isEqualTo("c");
      assertThat(m.get(Keyword.of("f"))).isEqualTo(new EdnParser.Symbol("sym"));
      assertThat(m.get(Keyword.of("g"))).isEqualTo(Keyword.of("h/i"));
    }

    @Test
    void aMissingTypeNamesFileAndLine() throws IOException {
      Path p =
          write(
              "bad.edn",
              """
              {:process 0, :type :invoke, :f :read, :value nil}
              {:process 0, :type :ok, :f :read, :value nil}
              {:process 0, :f :read, :value nil}
              """);
      assertThatThrownBy(() -> HistoryFiles.read(p))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessage(p + ":3: operation without :type")
          .satisfies(e -> assertThat(((HistoryFormatException) e).line()).isEqualTo(3));
    }

    @Test
    void anUnclosedStringNamesTheLineWhereItStarts() throws IOException {
      Path p =
          write(
              "bad.edn",
              """
              {:process 0, :type :invoke, :f :read, :value nil}
              {:process 0, :type :ok, :f :read, :value "abc}
              """);
      assertThatThrownBy(() -> HistoryFiles.read(p))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessageContaining(p + ":2:")
          .hasMessageContaining("string not closed");
    }

    @Test
    void anUnknownTypeNamesTheLine() throws IOException {
      Path p = write("bad.edn", "\n\n{:process 0, :type :started, :f :read, :value nil}\n");
      assertThatThrownBy(() -> HistoryFiles.read(p))
          .hasMessageContaining(p + ":3:")
          .hasMessageContaining("unknown event type ':started'");
    }

    @Test
    void somethingElseThanAMap() throws IOException {
      Path p = write("bad.edn", "{:process 0, :type :invoke, :f :read}\n[1 2]\n");
      assertThatThrownBy(() -> HistoryFiles.read(p))
          .hasMessageContaining(p + ":2:")
          .hasMessageContaining("expected an operation map");
    }
  }

  @Nested
  class JepsenLog {
    @Test
    void tabsSpacesNemesisAndOtherLines() {
      History h =
          HistoryFiles.parseJepsenLog(
              "x.log",
              """
              2015-01-01 INFO  jepsen.core - Running test
              INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]
              INFO  jepsen.util - :nemesis\t:info\t:start\tnil
              INFO  jepsen.util - 4   :invoke :read   nil
              INFO  jepsen.util - 3\t:info\t:cas\t:timed-out
              INFO  jepsen.util - 4   :ok     :read   nil
              """);
      assertThat(h.operations()).hasSize(2);
      Operation cas = h.operations().get(0);
      assertThat(cas.input()).isEqualTo(List.of(1L, 2L));
      assertThat(cas.outcome()).isEqualTo(Outcome.INFO);
      assertThat(cas.output()).isEqualTo(Keyword.of("timed-out"));
      assertThat(cas.invocation().line()).isEqualTo(2);
      assertThat(h.operations().get(1).outcome()).isEqualTo(Outcome.OK);
      assertThat(h.operations().get(1).output()).isNull();
    }

    @Test
    void aBadTypeNamesTheLine() {
      assertThatThrownBy(
              () ->
                  HistoryFiles.parseJepsenLog(
                      "x.log",
                      "INFO  jepsen.util - 3\t:invoke\t:read\tnil\nINFO  jepsen.util - 3\t:okay\t:read\t1\n"))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessage("x.log:2: unknown event type ':okay' (expected invoke, ok, fail or info)");
    }

    @Test
    void aBadValueNamesTheLine() {
      assertThatThrownBy(
              () ->
                  HistoryFiles.parseJepsenLog(
                      "x.log", "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2\n"))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessageStartingWith("x.log:1: bad value");
    }
  }

  @Nested
  class JsonLines {
    @Test
    void theProjectFormat() {
      History h =
          HistoryFiles.parseJsonLines(
              "h.jsonl",
              """
              {"process":0,"type":"invoke","f":"cas","key":"a","value":[1,2],"time":10,"index":0}

              {"process":0,"type":"ok","f":"cas","value":[1,2],"time":20,"index":1,"extra":true}
              {"process":1,"type":"invoke","f":"read","key":7,"time":30}
              {"process":1,"type":"ok","f":"read","key":7,"value":{"x":1.5},"time":40}
              """);
      assertThat(h.operations()).hasSize(2);
      Operation cas = h.operations().get(0);
      assertThat(cas.key()).isEqualTo("a"); // inherited from the invocation
      assertThat(cas.input()).isEqualTo(List.of(1L, 2L));
      assertThat(cas.completion().line()).isEqualTo(3);
      assertThat(h.operations().get(1).key()).isEqualTo(7L);
      assertThat(h.operations().get(1).output()).isEqualTo(Map.of("x", 1.5));
    }

    @Test
    void notJsonNamesTheLine() {
      assertThatThrownBy(
              () ->
                  HistoryFiles.parseJsonLines(
                      "h.jsonl",
                      "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\n"))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessageStartingWith("h.jsonl:2: not JSON")
          .extracting(Throwable::getMessage)
          .asString()
          .doesNotContain("Source:");
    }

    @Test
    void aMissingFieldNamesTheLine() {
      assertThatThrownBy(
              () ->
                  HistoryFiles.parseJsonLines("h.jsonl", "{\"type\":\"invoke\",\"f\":\"read\"}\n"))
          .hasMessage("h.jsonl:1: missing \"process\"");
      assertThatThrownBy(
              () ->
                  HistoryFiles.parseJsonLines(
                      "h.jsonl", "{\"process\":\"p\",\"type\":\"invoke\",\"f\":\"read\"}\n"))
          .hasMessageStartingWith("h.jsonl:1: process should be an integer");
      assertThatThrownBy(
              () ->
                  HistoryFiles.parseJsonLines(
                      "h.jsonl",
                      "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"time\":\"x\"}\n"))
          .hasMessageStartingWith("h.jsonl:1: \"time\" should be an integer");
    }

    @Test
    void trailingGarbageIsAnError() {
      assertThatThrownBy(
              () ->
                  HistoryFiles.parseJsonLines(
                      "h.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"} x\n"))
          .hasMessageStartingWith("h.jsonl:1: not JSON");
    }
  }

  @Nested
  class Detection {
    @Test
    void fromTheNameOrTheFirstLine() {
      assertThat(HistoryFiles.detect("a.edn", "")).isEqualTo(HistoryFormat.EDN);
      assertThat(HistoryFiles.detect("a.log", "")).isEqualTo(HistoryFormat.JEPSEN_LOG);
      assertThat(HistoryFiles.detect("a.jsonl", "")).isEqualTo(HistoryFormat.JSON_LINES);
      assertThat(HistoryFiles.detect("a.txt", "\n{:process 0}")).isEqualTo(HistoryFormat.EDN);
      assertThat(HistoryFiles.detect("a.txt", "{\"process\": 0}"))
          .isEqualTo(HistoryFormat.JSON_LINES);
      assertThat(HistoryFiles.detect("a.txt", "INFO jepsen.util - 0 :invoke :read nil"))
          .isEqualTo(HistoryFormat.JEPSEN_LOG);
      assertThatThrownBy(() -> HistoryFiles.detect("a.txt", "\nhello"))
          .hasMessageStartingWith("a.txt:2: cannot tell the format");
    }
  }

  @Test
  void writersRoundTrip() throws IOException {
    History h =
        History.of(
            List.of(
                new Event(0, EventType.INVOKE, "cas", "k", List.of(1, 2), 5, 0, 0),
                new Event(1, EventType.INVOKE, "read", "k", null, 6, 1, 0),
                new Event(0, EventType.OK, "cas", "k", List.of(1, 2), 7, 2, 0),
                new Event(1, EventType.OK, "read", "k", "say \"hi\"\n", 8, 3, 0),
                new Event(2, EventType.INVOKE, "write", null, Map.of("a", 1), 9, 4, 0),
                new Event(2, EventType.INFO, "write", null, Keyword.of("timed-out"), 10, 5, 0)));
    Path jsonl = dir.resolve("h.jsonl");
    Path edn = dir.resolve("h.edn");
    HistoryWriter.writeJsonLines(h, jsonl);
    HistoryWriter.writeEdn(h, edn);
    History fromEdn = HistoryFiles.read(edn);
    History fromJson = HistoryFiles.read(jsonl);
    assertThat(withoutLines(fromEdn)).isEqualTo(h.events());
    // JSON has no keywords: :timed-out comes back as the string "timed-out".
    assertThat(withoutLines(fromJson).subList(0, 5)).isEqualTo(h.events().subList(0, 5));
    assertThat(fromJson.events().get(5).value()).isEqualTo("timed-out");
    assertThat(Files.readAllLines(jsonl).get(0))
        .isEqualTo(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"k\",\"value\":[1,2],"
                + "\"time\":5,\"index\":0}");
    assertThat(Files.readAllLines(edn).get(0))
        .isEqualTo(
            "{:process 0, :type :invoke, :f :cas, :key \"k\", :value [1 2], :time 5, :index 0}");
  }

  private static List<Event> withoutLines(History h) {
    return h.events().stream()
        .map(
            e ->
                new Event(e.process(), e.type(), e.f(), e.key(), e.value(), e.time(), e.index(), 0))
        .toList();
  }
}
