package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.steps.TestStepContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exec hook, with real processes. */
class ExecActionTest {
  @TempDir Path dir;

  /** Node east-1's second attempt in cluster c1, after west-1's activation with token 7. */
  static TestStepContext ctx(long token, StepContext.Phase phase, Duration timeout) {
    TestStepContext c =
        TestStepContext.promote(token, "east-1")
            .after("c1", "west-1", 7)
            .attempt(2)
            .withDeadline(timeout);
    return phase == StepContext.Phase.DEMOTE ? c.demoting() : c;
  }

  @Test
  void environmentCarriesTokenNodeRoleAndCluster() throws Exception {
    Path out = dir.resolve("env.txt");
    ExecAction hook =
        ExecAction.builder("record")
            .command("sh", "-c", "env | grep ^BATON_ | sort > \"$OUT\"")
            .env("OUT", out.toString())
            .demoteCommand("sh", "-c", "echo role=$BATON_ROLE >> \"$OUT\"")
            .build();
    hook.promote(ctx(42, StepContext.Phase.PROMOTE, Duration.ofSeconds(10)));
    assertThat(Files.readAllLines(out))
        .containsExactly(
            "BATON_ATTEMPT=2",
            "BATON_CLUSTER=c1",
            "BATON_NODE=east-1",
            "BATON_PREVIOUS=west-1",
            "BATON_PREVIOUS_TOKEN=7",
            "BATON_ROLE=active",
            "BATON_TOKEN=42");
    hook.demote(ctx(42, StepContext.Phase.DEMOTE, Duration.ofSeconds(10)));
    assertThat(Files.readAllLines(out)).last().isEqualTo("role=standby");
  }

  @Test
  void exitCodesMapToSuccessOrFailureAndNoShellUnlessAsked() throws Exception {
    ExecAction.builder("ok")
        .command("true")
        .build()
        .promote(ctx(1, StepContext.Phase.PROMOTE, Duration.ofSeconds(10)));
    assertThatThrownBy(
            () ->
                ExecAction.builder("fails")
                    .command("sh", "-c", "exit 3")
                    .build()
                    .promote(ctx(1, StepContext.Phase.PROMOTE, Duration.ofSeconds(10))))
        .hasMessage("hook 'fails' exited with code 3");
    // Without a shell, '$HOME' and '>' are plain arguments to echo, not expansions.
    Path out = dir.resolve("noshell.txt");
    ExecAction.builder("literal")
        .command("sh", "-c", "echo \"$0 $1\" > " + out, "$HOME", ">")
        .build()
        .promote(ctx(1, StepContext.Phase.PROMOTE, Duration.ofSeconds(10)));
    assertThat(Files.readString(out).trim()).isEqualTo("$HOME >");
    Path shellOut = dir.resolve("shell.txt");
    ExecAction.builder("shell")
        .command("echo", "$BATON_TOKEN", ">", shellOut.toString())
        .shell(true)
        .build()
        .promote(ctx(9, StepContext.Phase.PROMOTE, Duration.ofSeconds(10)));
    assertThat(Files.readString(shellOut).trim()).isEqualTo("9");
    assertThatThrownBy(
            () ->
                ExecAction.builder("missing")
                    .command("/nonexistent/hook")
                    .build()
                    .promote(ctx(1, StepContext.Phase.PROMOTE, Duration.ofSeconds(10))))
        .hasMessageContaining("exited with code 127");
  }

  @Test
  void aPreflightCommandRunsWithItsEnvironmentAndMustExitZeroInTime() throws Exception {
    Path out = dir.resolve("preflight.txt");
    ExecAction ok =
        ExecAction.builder("checked")
            .command("true")
            .preflightCommand(
                List.of("sh", "-c", "echo \"$BATON_ROLE $BATON_TOKEN $REGION\" > " + out),
                Duration.ofSeconds(10))
            .env("REGION", "east")
            .build();
    ok.preflight();
    assertThat(Files.readString(out).trim()).isEqualTo("preflight 0 east");
    assertThatThrownBy(
            () ->
                ExecAction.builder("refuses")
                    .command("true")
                    .preflightCommand(List.of("sh", "-c", "exit 4"), Duration.ofSeconds(10))
                    .build()
                    .preflight())
        .hasMessage("hook 'refuses' exited with code 4");
    assertThatThrownBy(
            () ->
                ExecAction.builder("hangs")
                    .command("true")
                    .preflightCommand(List.of("sleep", "30"), Duration.ofMillis(300))
                    .build()
                    .preflight())
        .hasMessageContaining("did not finish in time");
    // Without a preflight command there is nothing to run.
    ExecAction.builder("plain").command("/nonexistent/hook").build().preflight();
  }

  /**
   * A hook dies with its node (issue 15, item 5): a JVM SIGKILLed while its hook runs leaves
   * nothing of the hook behind, so the hook's later lines, its own and a background child's, never
   * appear. Before, the hook ran in a session of its own and finished its command after the node
   * was dead.
   */
  @Test
  void aHookDiesWithItsJvmWhenTheJvmIsKilled() throws Exception {
    Path out = dir.resolve("hook.out");
    Path log = dir.resolve("child.log");
    Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                ExecHookChild.class.getName(),
                out.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      await("the hook started")
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.exists(out) && Files.readString(out).contains("started"));
      child.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs
      assertThat(child.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      // The hook would have written its late lines 3 s after it started.
      await("the hook's later lines never appear")
          .during(Duration.ofSeconds(5))
          .atMost(Duration.ofSeconds(8))
          .until(() -> !Files.readString(out).contains("late"));
      assertThat(Files.readString(out)).isEqualTo("started\n");
    } finally {
      child.destroyForcibly();
    }
  }

  @Test
  void aHookThatHangsIsKilledWithItsChildren() throws Exception {
    Path pids = dir.resolve("pids.txt");
    ExecAction hook =
        ExecAction.builder("hangs")
            .command(
                "sh",
                "-c",
                "sleep 300 & echo $! > "
                    + pids
                    + "; sh -c 'sleep 301' & echo $! >> "
                    + pids
                    + "; wait")
            .build();
    long start = System.nanoTime();
    assertThatThrownBy(() -> hook.promote(ctx(1, StepContext.Phase.PROMOTE, Duration.ofSeconds(2))))
        .hasMessageContaining("did not finish in time; killed it and its children");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    for (String pid : Files.readAllLines(pids)) {
      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  ProcessHandle.of(Long.parseLong(pid.trim())).map(p -> !p.isAlive()).orElse(true));
    }
  }
}
