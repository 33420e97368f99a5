package dev.baton.sidecar.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.Activation;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.WatchEvent;
import dev.baton.sidecar.Json;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code baton watch}: prints the KV changes under a prefix and the changes of the active as they
 * are applied, in log order (an activation's token is its log index, so a role line falls among the
 * key lines where it happened), and goes on across node restarts without a gap: on a broken stream
 * it reconnects (to the next endpoint) and resumes after the last revision or token it printed; the
 * node replays the key changes and the activations since. When the node cannot replay from there (a
 * key was deleted since, or the history no longer reaches back), it says so, prints the prefix and
 * the newest activation as they are now (lines marked {@code RESYNC}), and goes on from there.
 */
@Command(
    name = "watch",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the changes to the keys under a prefix, and the changes of the active, as they",
      "happen. One line (or one JSON object) each: PUT or DELETE, the key, the value and the",
      "revision; or ACTIVE, the node, its token and why it took the role (the token orders it",
      "among the revisions). It reconnects when the node it watches goes away and resumes after",
      "the last revision or token it printed, so no change is missed; a key changed several",
      "times while it was away is printed once, with its latest value. When the node cannot",
      "replay (a key was deleted meanwhile), it prints the prefix and the active as they are",
      "now (RESYNC lines) and goes on. Stops on Ctrl-C."
    })
final class WatchCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Option(
      names = "--prefix",
      paramLabel = "P",
      description =
          "Watch the keys that start with P, matched literally, not as a pattern (default: every"
              + " key).")
  String prefix = "";

  @Option(
      names = "--after",
      paramLabel = "REV",
      description =
          "First replay every key changed after revision REV, then go on (default: from now).")
  long after;

  @Option(
      names = "--count",
      paramLabel = "N",
      description = "Exit 0 after N events (default: never).")
  long count = -1;

  @Option(names = "--json", description = "Print one JSON object per line.")
  boolean json;

  @Option(
      names = "--no-roles",
      description = "Print the key changes only, not the changes of the active.")
  boolean noRoles;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    if (after < 0) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--after must be 0 or more, not " + after);
    }
    String wrongPrefix = prefixProblem(prefix);
    if (wrongPrefix != null) {
      throw new BatonCommand.UsageError("watch: " + wrongPrefix);
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (BatonClient c = client.client()) {
      // The resume loop is ClientWatch's (the guard's store watches the same way).
      ClientWatch.resume(
          c,
          prefix,
          after,
          !noRoles,
          () -> false,
          new ClientWatch.Handler() {
            long printed;

            @Override
            public boolean onEvent(WatchEvent e) {
              if (e.type() == WatchEvent.Type.ACTIVATED) {
                printRole(out, "ACTIVE", e.activation().orElseThrow());
                return count < 0 || ++printed < count;
              }
              KvEntry entry = e.entry().orElseThrow();
              print(
                  out,
                  e.type() == WatchEvent.Type.PUT ? "PUT" : "DELETE",
                  entry.key(),
                  e.type() == WatchEvent.Type.PUT ? entry.value() : null,
                  e.revision());
              return count < 0 || ++printed < count;
            }

            @Override
            public long onCannotReplay(String endpoint, long last) {
              err.println(
                  "baton watch: "
                      + endpoint
                      + " cannot replay after revision "
                      + last
                      + " (a key was deleted since, or the activation history no longer reaches"
                      + " back); printing the keys"
                      + (noRoles ? "" : " and the active")
                      + " as they are now");
              err.flush();
              for (KvEntry e : c.list(prefix)) {
                print(out, "RESYNC", e.key(), e.value(), e.revision());
              }
              if (!noRoles) {
                List<Activation> history = c.activations();
                if (!history.isEmpty()) {
                  printRole(out, "RESYNC", history.get(history.size() - 1));
                }
              }
              return last;
            }

            @Override
            public long onStreamFailed(String endpoint, String message, long last) {
              err.println(
                  "baton watch: "
                      + endpoint
                      + ": "
                      + message
                      + "; resuming after revision "
                      + last);
              err.flush();
              return last;
            }
          });
    }
    return 0;
  }

  /**
   * Why {@code prefix} is a form the watch does not take, or null when it is a literal prefix. A
   * prefix is matched literally, so a glob or a regular expression ({@code app/*}, {@code app/.*})
   * would watch for keys that start with those very characters and print nothing, silently; a
   * control character or a prefix longer than any key can be matches no key at all.
   */
  static String prefixProblem(String prefix) {
    for (int i = 0; i < prefix.length(); i++) {
      if (Character.isISOControl(prefix.charAt(i))) {
        return "--prefix holds control character U+"
            + String.format("%04X", (int) prefix.charAt(i))
            + " at position "
            + i
            + ", which no key may hold";
      }
    }
    int bytes = prefix.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > KeyValueStore.MAX_KEY_BYTES) {
      return "--prefix is "
          + bytes
          + " bytes long; no key is longer than "
          + KeyValueStore.MAX_KEY_BYTES;
    }
    if (prefix.endsWith("*")) {
      String literal = prefix.replaceAll("\\.?\\*+$", "");
      return "--prefix '"
          + prefix
          + "' is a pattern, but the prefix is matched literally: "
          + (literal.isEmpty()
              ? "every key is watched without --prefix"
              : "the keys that start with '"
                  + literal
                  + "' are watched with --prefix '"
                  + literal
                  + "'");
    }
    return null;
  }

  /**
   * One role line: {@code ACTIVE n2 token 57 (SWITCH_ACTIVE asked of n1; was n1 token 40)}, or its
   * JSON object; {@code type} is ACTIVE, or RESYNC for the newest activation after a re-read.
   */
  private void printRole(PrintWriter out, String type, Activation a) {
    if (json) {
      ObjectNode n = Json.mapper().createObjectNode();
      n.put("type", type.equals("ACTIVE") ? "ACTIVATED" : "RESYNC_ACTIVE");
      n.put("nodeId", a.nodeId());
      n.put("token", a.token());
      n.put("term", a.term());
      n.put("reason", a.reason().name());
      a.requester().ifPresent(r -> n.put("requester", r));
      a.previousNodeId()
          .ifPresent(p -> n.put("previousNodeId", p).put("previousToken", a.previousToken()));
      a.proposedAt().ifPresent(t -> n.put("proposedAtUnixMillis", t.toEpochMilli()));
      n.put("revision", a.token());
      out.println(Json.write(n));
    } else {
      StringBuilder why = new StringBuilder(a.reason().name());
      a.requester().ifPresent(r -> why.append(" asked of ").append(r));
      a.previousNodeId()
          .ifPresent(
              p -> why.append("; was ").append(p).append(" token ").append(a.previousToken()));
      out.println(
          type
              + (type.equals("RESYNC") ? " active " : " ")
              + a.nodeId()
              + " token "
              + a.token()
              + " ("
              + why
              + ")");
    }
    out.flush();
  }

  private void print(PrintWriter out, String type, String key, byte[] value, long revision) {
    String text = value == null ? null : new String(value, StandardCharsets.UTF_8);
    if (json) {
      ObjectNode n = Json.mapper().createObjectNode();
      n.put("type", type);
      n.put("key", key);
      if (text != null) {
        n.put("value", text);
      }
      n.put("revision", revision);
      out.println(Json.write(n));
    } else {
      out.println(
          type + " " + key + (text == null ? "" : " = " + text) + "  (revision " + revision + ")");
    }
    out.flush();
  }
}
