package dev.baton.postgres;

import dev.baton.core.BatonException;
import dev.baton.core.HookProcess;
import dev.baton.core.StepContext;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * {@link PostgresPromotionAction.Builder#stopCommand}: the STONITH of an old primary that is a
 * primary or unreachable, run as every hook is, and remembered per activation so that a re-run of
 * the plan does not stop a host that is already down a second time.
 */
final class StopCommand {
  private final String name;
  private final List<String> command;
  private final Duration timeout;
  private final Set<String> passEnv;
  private final @Nullable RejoinRecords rejoinRecords;
  private final PeerSurvey survey;

  /** Peers the command stopped, by address, with the token of the activation that did it. */
  private final Map<String, Long> stoppedBy = new ConcurrentHashMap<>();

  StopCommand(
      String name,
      List<String> command,
      Duration timeout,
      Set<String> passEnv,
      @Nullable RejoinRecords rejoinRecords,
      PeerSurvey survey) {
    this.name = name;
    this.command = List.copyOf(command);
    this.timeout = timeout;
    this.passEnv = passEnv;
    this.rejoinRecords = rejoinRecords;
    this.survey = survey;
  }

  /** A peer that answers again: whatever stopped it is over. */
  void answered(String address) {
    stoppedBy.remove(address);
  }

  /**
   * Runs the stop command for {@code p} unless its guard is rejoining it (a live record), or a stop
   * command already stopped it in this activation (same token) and it has not answered since: a
   * re-run of the plan must not need a second STONITH of a host that is already down (issue 28,
   * item 6c). A new activation stops it again: its token differs, and nothing tells it that the
   * server stayed down in between.
   */
  void stopUnlessHeldOrStopped(PeerSurvey.Peer p, Set<String> rejoining, StepContext ctx)
      throws Exception {
    String address = p.endpoint().address();
    if (rejoining.contains(address)) {
      ctx.log()
          .warn(
              "{}: not stopping {} (STONITH skipped): its former-primary guard holds a live rejoin"
                  + " record ({}); it made the server read-only before rewinding it into a"
                  + " standby",
              name,
              survey.describePeer(p.endpoint()),
              rejoinRecords == null ? "-" : rejoinRecords.key(p.endpoint()));
      return;
    }
    Long stoppedAt = stoppedBy.get(address);
    if (p.connection() == null && stoppedAt != null && stoppedAt == ctx.token()) {
      ctx.log()
          .warn(
              "{}: not stopping {} again (STONITH skipped): the stop command stopped it earlier in"
                  + " this activation (token {}) and it has not answered since",
              name,
              survey.describePeer(p.endpoint()),
              ctx.token());
      return;
    }
    runStopCommand(p.endpoint(), ctx);
    stoppedBy.put(address, ctx.token());
  }

  /**
   * Runs the stop command as Baton runs every hook ({@link HookProcess}): in a process group of its
   * own, its output logged, and on a timeout or an interrupt (the node gave the role up) killed
   * with every child it started, so a script's {@code ssh} or API call cannot stop the server
   * later, after Baton gave up on it.
   */
  private void runStopCommand(PostgresEndpoint ep, StepContext ctx) throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("BATON_PG_HOST", ep.host());
    env.put("BATON_PG_PORT", Integer.toString(ep.port()));
    env.put("BATON_TOKEN", Long.toString(ctx.token()));
    env.put("BATON_NODE", ctx.nodeId());
    int code;
    try {
      code =
          HookProcess.run(
              name + " stop-command", command, false, env, passEnv, null, timeout, ctx.log());
    } catch (TimeoutException e) {
      throw new BatonException(
          "the stop command for old primary "
              + ep.address()
              + " did not finish within "
              + timeout
              + "; killed it and its children");
    }
    if (code != 0) {
      throw new BatonException(
          "the stop command for old primary "
              + ep.address()
              + " exited with "
              + code
              + "; refusing to promote while it may still accept writes");
    }
    ctx.log().info("{}: stop command for old primary {} succeeded", name, ep.address());
  }
}
