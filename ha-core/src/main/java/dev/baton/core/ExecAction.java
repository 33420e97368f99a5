package dev.baton.core;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * A promotion action that runs a command, like Patroni's callbacks or {@code consul lock}.
 *
 * <p>The command runs without a shell unless {@link Builder#shell(boolean)} asks for one. Its
 * environment carries {@code BATON_TOKEN}, {@code BATON_PREVIOUS_TOKEN}, {@code BATON_NODE}, {@code
 * BATON_PREVIOUS} (empty when unknown), {@code BATON_ROLE} ({@code active} when promoting, {@code
 * standby} when demoting), {@code BATON_CLUSTER} and {@code BATON_ATTEMPT}. Its stdout and stderr
 * go to the log, line by line. Exit status 0 is success; any other status fails the attempt with
 * the status in the error. Nothing else of this process's environment reaches the command but
 * {@link ChildEnvironment#INHERITED} and what {@link Builder#passEnv} names, so a secret this
 * process holds in a variable never does. When the attempt's deadline passes (or the node gives the
 * role up), the command's whole process group and every descendant are killed.
 *
 * <p>A hook dies with its node: it runs under a small supervisor ({@link HookProcess#SUPERVISOR},
 * in a process group of its own made with {@code setsid}) that holds a pipe from this JVM and kills
 * the group when the pipe closes, which the kernel does when the JVM dies, even by SIGKILL. What
 * remains: a descendant that leaves the group itself ({@code setsid}, a daemon that double-forks
 * into a new session) is not killed, and neither is anything the command left running after it
 * exited normally. Without {@code /usr/bin/setsid} there is no supervisor.
 */
public final class ExecAction implements PromotionAction {
  private static final Logger LOG = org.slf4j.LoggerFactory.getLogger(ExecAction.class);

  private final String name;
  private final boolean shell;
  private final List<String> promoteCommand;
  private final @Nullable List<String> demoteCommand;
  private final Map<String, String> environment;
  private final Set<String> passEnv;
  private final @Nullable Path workingDirectory;
  private final @Nullable List<String> preflightCommand;
  private final Duration preflightTimeout;

  private ExecAction(Builder b) {
    this.name = b.name;
    this.shell = b.shell;
    // build() refused a builder without a promote command.
    this.promoteCommand = Objects.requireNonNull(b.promote, "promote");
    this.demoteCommand = b.demote;
    this.environment = Map.copyOf(b.environment);
    this.passEnv = Set.copyOf(b.passEnv);
    this.workingDirectory = b.workingDirectory;
    this.preflightCommand = b.preflight;
    this.preflightTimeout = b.preflightTimeout;
  }

  public static Builder builder(String name) {
    return new Builder(name);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void promote(StepContext context) throws Exception {
    run(promoteCommand, context);
  }

  @Override
  public void demote(StepContext context) throws Exception {
    if (demoteCommand != null) {
      run(demoteCommand, context);
    }
  }

  /**
   * Runs the {@linkplain Builder#preflightCommand pre-flight command}, if any, with {@code
   * BATON_ROLE=preflight}, {@code BATON_TOKEN=0} and the configured environment: it must exit 0
   * within its timeout. A node runs it at start; {@code baton sidecar --check --preflight} runs it
   * on demand.
   */
  @Override
  public void preflight() throws Exception {
    if (preflightCommand == null) {
      return;
    }
    Map<String, String> env = new LinkedHashMap<>();
    env.put("BATON_ROLE", "preflight");
    env.put("BATON_TOKEN", "0");
    run(preflightCommand, env, preflightTimeout, LOG);
  }

  private void run(List<String> command, StepContext ctx) throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("BATON_TOKEN", Long.toString(ctx.token()));
    env.put("BATON_PREVIOUS_TOKEN", Long.toString(ctx.previousToken()));
    env.put("BATON_NODE", ctx.nodeId());
    env.put("BATON_PREVIOUS", ctx.previousActive().orElse(""));
    env.put("BATON_ROLE", ctx.phase() == StepContext.Phase.PROMOTE ? "active" : "standby");
    env.put("BATON_CLUSTER", ctx.clusterId());
    env.put("BATON_ATTEMPT", Integer.toString(ctx.attempt()));
    run(command, env, ctx.deadline(), ctx.log());
  }

  private void run(List<String> command, Map<String, String> batonEnv, Duration left, Logger log)
      throws Exception {
    Map<String, String> env = new LinkedHashMap<>(environment);
    env.putAll(batonEnv);
    int code;
    try {
      code = HookProcess.run(name, command, shell, env, passEnv, workingDirectory, left, log);
    } catch (IOException e) {
      throw new IOException("hook " + e.getMessage(), e);
    } catch (TimeoutException e) {
      throw new TimeoutException(
          "hook '" + name + "' did not finish in time; killed it and its children");
    }
    if (code != 0) {
      throw new IllegalStateException("hook '" + name + "' exited with code " + code);
    }
  }

  public static final class Builder {
    private final String name;
    private @Nullable List<String> promote;
    private @Nullable List<String> demote;
    private boolean shell;
    private final Map<String, String> environment = new LinkedHashMap<>();
    private final Set<String> passEnv = new LinkedHashSet<>();
    private @Nullable Path workingDirectory;
    private @Nullable List<String> preflight;
    private Duration preflightTimeout = Duration.ofSeconds(10);

    private Builder(String name) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("exec action: name must not be empty");
      }
      this.name = name;
    }

    /** The command run on promotion: the program and its arguments. Required. */
    public Builder command(String... command) {
      return command(List.of(command));
    }

    public Builder command(List<String> command) {
      this.promote = List.copyOf(command);
      return this;
    }

    /** The command run on demotion (optional). */
    public Builder demoteCommand(String... command) {
      return demoteCommand(List.of(command));
    }

    public Builder demoteCommand(List<String> command) {
      this.demote = List.copyOf(command);
      return this;
    }

    /**
     * A command run at the node's start (and by {@code --check --preflight}) to check that the
     * promotion command could work here, for example that the tools it calls exist and the service
     * it talks to answers. It must exit 0 within {@code timeout}; it changes nothing.
     */
    public Builder preflightCommand(List<String> command, Duration timeout) {
      this.preflight = List.copyOf(command);
      this.preflightTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /** Run through {@code /bin/sh -c} with the words joined by spaces; default off. */
    public Builder shell(boolean useShell) {
      this.shell = useShell;
      return this;
    }

    /** An extra environment variable. */
    public Builder env(String key, String value) {
      environment.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
      return this;
    }

    /**
     * Variables of this process to pass on to the command, by name, beyond {@link
     * ChildEnvironment#INHERITED}: nothing else of this process's environment reaches it, so a
     * secret held in a variable stays here. Name only what the command needs (a cloud credential's
     * file, say), never a variable that holds one of Baton's own secrets.
     */
    public Builder passEnv(Collection<String> names) {
      for (String n : names) {
        passEnv.add(Objects.requireNonNull(n, "passEnv name"));
      }
      return this;
    }

    public Builder workingDirectory(Path dir) {
      this.workingDirectory = dir;
      return this;
    }

    public ExecAction build() {
      if (promote == null || promote.isEmpty()) {
        throw new IllegalArgumentException("exec action '" + name + "': command must be set");
      }
      if (demote != null && demote.isEmpty()) {
        throw new IllegalArgumentException("exec action '" + name + "': demoteCommand is empty");
      }
      if (preflight != null && preflight.isEmpty()) {
        throw new IllegalArgumentException("exec action '" + name + "': preflightCommand is empty");
      }
      return new ExecAction(this);
    }
  }
}
