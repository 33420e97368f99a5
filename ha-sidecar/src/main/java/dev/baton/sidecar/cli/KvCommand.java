package dev.baton.sidecar.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.KvEntry;
import dev.baton.core.control.BatonClient;
import dev.baton.sidecar.Json;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code baton kv get|put|cas|list|delete}: the cluster's linearizable KV store. */
@Command(
    name = "kv",
    mixinStandardHelpOptions = true,
    description = "The cluster's linearizable key-value store (values as UTF-8 text).",
    subcommands = {
      KvCommand.Get.class,
      KvCommand.Put.class,
      KvCommand.Cas.class,
      KvCommand.ListKeys.class,
      KvCommand.Delete.class
    })
final class KvCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static void print(PrintWriter out, KvEntry e, boolean json) {
    if (json) {
      ObjectNode n = Json.mapper().createObjectNode();
      n.put("key", e.key());
      n.put("value", e.valueAsString());
      n.put("revision", e.revision());
      n.put("createRevision", e.createRevision());
      out.println(Json.write(n));
    } else {
      out.println(e.key() + " = " + e.valueAsString() + "  (revision " + e.revision() + ")");
    }
    out.flush();
  }

  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      description = "Prints KEY's value; exit 1 if absent.")
  static final class Get implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Parameters(paramLabel = "KEY")
    String key;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (BatonClient c = client.client()) {
        Optional<KvEntry> e = c.get(key);
        if (e.isEmpty()) {
          spec.commandLine().getErr().println("'" + key + "' is absent");
          return 1;
        }
        print(spec.commandLine().getOut(), e.get(), json);
        return 0;
      }
    }
  }

  @Command(name = "put", mixinStandardHelpOptions = true, description = "Sets KEY to VALUE.")
  static final class Put implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    @Parameters(index = "1", paramLabel = "VALUE")
    String value;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (BatonClient c = client.client()) {
        print(spec.commandLine().getOut(), c.put(key, value.getBytes(UTF_8)), json);
        return 0;
      }
    }
  }

  @Command(
      name = "cas",
      mixinStandardHelpOptions = true,
      description = "Sets KEY to VALUE only if the expectation holds; exit 1 if it did not.")
  static final class Cas implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    @Parameters(index = "1", paramLabel = "VALUE")
    String value;

    @ArgGroup(multiplicity = "1")
    Expectation expect;

    static final class Expectation {
      @Option(
          names = "--expect",
          paramLabel = "OLD",
          description = "The current value must be OLD.")
      String value;

      @Option(names = "--expect-absent", description = "The key must be absent.")
      boolean absent;

      @Option(
          names = "--expect-revision",
          paramLabel = "REV",
          description = "The current revision must be REV.")
      Long revision;
    }

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (BatonClient c = client.client()) {
        byte[] update = value.getBytes(UTF_8);
        Optional<KvEntry> r;
        if (expect.revision != null) {
          r = c.compareAndSetRevision(key, expect.revision, update);
        } else if (expect.absent) {
          r = c.compareAndSet(key, null, update);
        } else {
          r = c.compareAndSet(key, expect.value.getBytes(UTF_8), update);
        }
        if (r.isEmpty()) {
          spec.commandLine()
              .getErr()
              .println("not applied: the expectation did not hold for '" + key + "'");
          return 1;
        }
        print(spec.commandLine().getOut(), r.get(), json);
        return 0;
      }
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "Lists keys starting with PREFIX.")
  static final class ListKeys implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Parameters(paramLabel = "PREFIX", defaultValue = "")
    String prefix;

    @Option(names = "--json", description = "Print JSON lines.")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (BatonClient c = client.client()) {
        List<KvEntry> entries = c.list(prefix);
        entries.forEach(e -> print(spec.commandLine().getOut(), e, json));
        return 0;
      }
    }
  }

  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description = "Removes KEY; exit 1 if it was absent.")
  static final class Delete implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Parameters(paramLabel = "KEY")
    String key;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (BatonClient c = client.client()) {
        boolean existed = c.delete(key);
        spec.commandLine()
            .getOut()
            .println(existed ? "deleted " + key : "'" + key + "' was absent");
        spec.commandLine().getOut().flush();
        return existed ? 0 : 1;
      }
    }
  }
}
