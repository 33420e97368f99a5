package dev.baton.sidecar.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.proto.KvEntry;
import dev.baton.core.control.proto.KvEvent;
import dev.baton.sidecar.Json;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code baton watch}: prints the KV changes under a prefix as they are applied, and goes on across
 * node restarts without a gap: on a broken stream it reconnects (to the next endpoint) and resumes
 * after the last revision it printed. When the node cannot replay from there (a key was deleted
 * since), it says so, prints the prefix as it is now (lines marked {@code RESYNC}), and goes on
 * from there.
 */
@Command(
    name = "watch",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the changes to the keys under a prefix as they happen.",
      "One line (or one JSON object) each: PUT or DELETE, the key, the value and the revision. It reconnects when",
      "the node it watches goes away and resumes after the last revision it printed, so no",
      "change is missed; a key changed several times while it was away is printed once,",
      "with its latest value. When the node cannot replay (a key was deleted meanwhile), it",
      "prints the prefix as it is now (RESYNC lines) and goes on. Stops on Ctrl-C."
    })
final class WatchCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Option(
      names = "--prefix",
      paramLabel = "P",
      description = "Watch the keys that start with P (default: every key).")
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

  @Spec CommandSpec spec;

  /** What the stream delivered: an event, or the failure that ended it. */
  private record Item(KvEvent event, Throwable failure) {}

  @Override
  public Integer call() throws InterruptedException {
    if (after < 0) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--after must be 0 or more, not " + after);
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long last = after;
    long printed = 0;
    int next = 0;
    long backoffMillis = 100;
    try (BatonClient c = client.client()) {
      List<String> endpoints = c.endpoints();
      while (true) {
        String endpoint = endpoints.get(next % endpoints.size());
        BlockingQueue<Item> items = new LinkedBlockingQueue<>();
        try (AutoCloseable w =
            c.watchKeys(
                endpoint,
                prefix,
                last,
                e -> items.add(new Item(e, null)),
                t -> items.add(new Item(null, t)))) {
          while (true) {
            Item item = items.poll(1, TimeUnit.SECONDS);
            if (item == null) {
              continue;
            }
            if (item.failure() != null) {
              OptionalLong floor = BatonClient.oldestReplayable(item.failure());
              if (floor.isPresent()) {
                err.println(
                    "baton watch: "
                        + endpoint
                        + " cannot replay after revision "
                        + last
                        + " (a key was deleted since); printing the keys as they are now");
                err.flush();
                for (dev.baton.core.KvEntry e : c.list(prefix)) {
                  print(out, "RESYNC", e.key(), e.value(), e.revision());
                }
                last = Math.max(last, floor.getAsLong());
              } else {
                err.println(
                    "baton watch: "
                        + endpoint
                        + ": "
                        + item.failure().getMessage()
                        + "; resuming after revision "
                        + last);
                err.flush();
                next++;
                Thread.sleep(backoffMillis);
                backoffMillis = Math.min(backoffMillis * 2, 2000);
              }
              break;
            }
            backoffMillis = 100;
            KvEvent e = item.event();
            KvEntry entry = e.getEntry();
            print(
                out,
                e.getType() == KvEvent.Type.PUT ? "PUT" : "DELETE",
                entry.getKey(),
                e.getType() == KvEvent.Type.PUT ? entry.getValue().toByteArray() : null,
                e.getRevision());
            last = Math.max(last, e.getRevision());
            if (count >= 0 && ++printed >= count) {
              return 0;
            }
          }
        } catch (InterruptedException e) {
          throw e;
        } catch (Exception e) {
          err.println("baton watch: " + endpoint + ": " + e.getMessage());
          err.flush();
          next++;
          Thread.sleep(backoffMillis);
          backoffMillis = Math.min(backoffMillis * 2, 2000);
        }
      }
    }
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
