package dev.baton.jepsen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.lincheck.Event;
import dev.baton.lincheck.EventType;
import dev.baton.lincheck.History;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the node apps recorded ({@code containers/<node>/events.jsonl}), read after the run: each
 * node's activations as sampled ({@link Activation}), the fenced-write and fence-advance
 * operations, starts and role changes.
 */
final class NodeEvents {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One activation of one node, as its sampler saw it. The node was certainly active from {@code
   * firstT1} to {@code lastT0} (when {@code firstT1 <= lastT0}), and at some instant in {@code
   * [firstT0, firstT1]}.
   *
   * @param endF0 the first sample that answered false afterwards, or -1 when none was recorded (the
   *     node was killed, paused to the end, or stopped while active)
   */
  record Activation(
      String node,
      int incarnation,
      long token,
      long firstT0,
      long firstT1,
      long lastT0,
      long lastT1,
      long endF0,
      int samples) {

    boolean hasInner() {
      return firstT1 <= lastT0;
    }
  }

  /** A start of a node process. */
  record Start(String node, int incarnation, long time, double clockRate, boolean unsafe) {}

  /** A role change reported to the node's listener. */
  record RoleChange(String node, long time, String role, long token, String reason) {}

  /** One fenced-register operation event recorded by a node. */
  record Op(
      String node,
      int incarnation,
      String proc,
      String type,
      long time,
      Object value,
      Long commitSeq,
      String error) {}

  /**
   * A node's Raft port refusal counter, recorded when it changed (it restarts at 0 with the node).
   */
  record Refusals(String node, int incarnation, long time, long count) {}

  /** One promotion-journal record, as a node's replica held it (the union over all nodes). */
  record Journal(String node, long token, String step, String phase, int attempt, String outcome) {}

  final List<Activation> activations = new ArrayList<>();
  final java.util.Set<Journal> journal = new java.util.LinkedHashSet<>();
  final List<Start> starts = new ArrayList<>();
  final List<RoleChange> roles = new ArrayList<>();
  final List<Op> ops = new ArrayList<>();
  final List<Refusals> refusals = new ArrayList<>();
  int unreadableLines;

  /**
   * Reads every node's event log.
   *
   * @throws NoSuchFileException when a node's log does not exist, naming the node and the file
   */
  static NodeEvents read(Map<String, Path> files) throws IOException {
    NodeEvents out = new NodeEvents();
    for (Map.Entry<String, Path> e : files.entrySet()) {
      out.readNode(e.getKey(), e.getValue());
    }
    out.activations.sort(Comparator.comparingLong(Activation::firstT0));
    out.ops.sort(Comparator.comparingLong(Op::time));
    out.refusals.sort(Comparator.comparingLong(Refusals::time));
    return out;
  }

  private void readNode(String node, Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      // A node that recorded nothing is not a node that saw nothing: without its log the checks
      // would judge a run without it (its activations, its writes) and could call that valid.
      throw new NoSuchFileException(
          file.toString(),
          null,
          node
              + "'s event log is missing: the node app never wrote it (it did not start, or its"
              + " event directory was not writable or not mounted)");
    }
    int incarnation = -1;
    // token -> [firstT0, firstT1, lastT0, lastT1, endF0, samples]
    Map<Long, long[]> byToken = new LinkedHashMap<>();
    Map<Long, Integer> tokenIncarnation = new HashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode r;
      try {
        r = JSON.readTree(line);
      } catch (IOException ex) {
        unreadableLines++; // a line cut short by SIGKILL
        continue;
      }
      String kind = r.path("e").asText();
      long time = r.path("time").asLong();
      switch (kind) {
        case "start" -> {
          incarnation = r.path("incarnation").asInt();
          starts.add(
              new Start(
                  node,
                  incarnation,
                  time,
                  r.path("clockRate").asDouble(1.0),
                  r.path("unsafe").asBoolean()));
        }
        case "sample" -> {
          long token = r.path("token").asLong();
          long t0 = r.path("t0").asLong();
          long t1 = r.path("t1").asLong();
          long[] a = byToken.computeIfAbsent(token, k -> new long[] {t0, t1, t0, t1, -1, 0});
          tokenIncarnation.putIfAbsent(token, incarnation);
          if (t0 < a[0]) {
            a[0] = t0;
            a[1] = t1;
          }
          if (t0 > a[2]) {
            a[2] = t0;
            a[3] = t1;
          }
          if (r.has("f0")) {
            a[4] = r.path("f0").asLong();
          }
          a[5]++;
        }
        case "role" ->
            roles.add(
                new RoleChange(
                    node,
                    time,
                    r.path("role").asText(),
                    r.path("token").asLong(0),
                    r.path("reason").asText("")));
        case "op" ->
            ops.add(
                new Op(
                    node,
                    incarnation,
                    r.path("proc").asText(),
                    r.path("type").asText(),
                    time,
                    r.has("value") ? JSON.convertValue(r.get("value"), Object.class) : null,
                    r.has("commit_seq") ? r.get("commit_seq").asLong() : null,
                    r.has("error") ? r.get("error").asText() : null));
        case "journal" ->
            journal.add(
                new Journal(
                    r.path("node").asText(),
                    r.path("token").asLong(),
                    r.path("step").asText(),
                    r.path("phase").asText(),
                    r.path("attempt").asInt(),
                    r.path("outcome").asText()));
        case "refusals" ->
            refusals.add(new Refusals(node, incarnation, time, r.path("count").asLong()));
        default -> {
          // started, stopped: informative only
        }
      }
    }
    for (Map.Entry<Long, long[]> e : byToken.entrySet()) {
      long[] a = e.getValue();
      activations.add(
          new Activation(
              node,
              tokenIncarnation.get(e.getKey()),
              e.getKey(),
              a[0],
              a[1],
              a[2],
              a[3],
              a[4],
              (int) a[5]));
    }
  }

  /**
   * The fenced-register history (workload b): every node's writes and fence advances as {@code
   * write [token value]} operations on one key, with a process per (node, incarnation, client).
   */
  History fencedHistory() {
    Map<String, Integer> processes = new HashMap<>();
    List<Event> events = new ArrayList<>();
    long index = 0;
    for (Op op : ops) {
      String key = op.node() + "/" + op.incarnation() + "/" + op.proc();
      int process = processes.computeIfAbsent(key, k -> processes.size());
      EventType type =
          switch (op.type()) {
            case "invoke" -> EventType.INVOKE;
            case "ok" -> EventType.OK;
            case "fail" -> EventType.FAIL;
            default -> EventType.INFO;
          };
      Object value = op.value() != null ? op.value() : op.error();
      events.add(new Event(process, type, "write", "fence", value, op.time(), index++, 0));
    }
    return History.of("fenced writes", events);
  }

  /** Tokens each node's fence advances carried (any outcome): the tokens it was issued. */
  Map<String, List<Long>> advancedTokens() {
    Map<String, List<Long>> out = new LinkedHashMap<>();
    for (Op op : ops) {
      if (op.type().equals("invoke")
          && op.value() instanceof List<?> l
          && l.size() == 2
          && l.get(1) instanceof String s
          && s.startsWith("advance:")) {
        out.computeIfAbsent(op.node(), k -> new ArrayList<>()).add(((Number) l.get(0)).longValue());
      }
    }
    return out;
  }
}
