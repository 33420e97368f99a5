package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.Maintenance;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.MaintenanceMode;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One job: turns the cluster's maintenance mode on or off through Raft as any member is asked
 * ({@code Cluster.maintenance(boolean, String)}), and reads it as this member has applied it. What
 * the flag changes is decided where health would move the role ({@link HealthHandOver}).
 */
public final class MaintenanceSwitch {
  private final NodeConfig config;
  private final RaftNode raft;

  public MaintenanceSwitch(NodeConfig config, RaftNode raft) {
    this.config = config;
    this.raft = raft;
  }

  /** Maintenance mode as this node has applied it. */
  public Maintenance current() {
    return toApi(raft.stateMachine().maintenance());
  }

  /**
   * Writes the change through Raft (the client finds the leader), then waits, within the operation
   * timeout, until this node has applied it too, so that {@link #current()} on this node shows it
   * when this returns. The change is committed either way once the write returned.
   *
   * @return the state the change made
   * @throws IllegalArgumentException if {@code reason} is too long or holds a control character
   */
  public Maintenance set(boolean on, String reason) {
    return set(on, reason, "");
  }

  /**
   * As {@link #set(boolean, String)}, for the control API: {@code client} names the client that
   * asked (its certificate name), recorded beside this member.
   */
  public Maintenance set(boolean on, String reason, String client) {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(client, "client");
    validate(reason);
    String requester = config.self().id();
    var command = Commands.maintenance(on, reason, requester, client);
    Semaphore applied = new Semaphore(0);
    BatonStateMachine.Observer wake = (c, result, index, term) -> applied.release();
    BatonStateMachine sm = raft.stateMachine();
    sm.addObserver(wake);
    try {
      CommandResult result = raft.write(command);
      if (!result.getApplied()) {
        throw new BatonException(
            "maintenance " + (on ? "on" : "off") + " refused: " + result.getRefusal());
      }
      MaintenanceMode made =
          command.getMaintenance().toBuilder().setIndex(result.getIndex()).build();
      long deadline = System.nanoTime() + config.operationTimeout().toNanos();
      while (lastApplied(sm) < made.getIndex()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        // Bounded: a state installed from a snapshot applies no entry.
        applied.tryAcquire(
            Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
      }
      return toApi(made);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException("maintenance: interrupted", e);
    } finally {
      sm.removeObserver(wake);
    }
  }

  /** Refuses a reason that status lines and logs could not show as one line. */
  static void validate(String reason) {
    if (reason.length() > Maintenance.MAX_REASON_LENGTH) {
      throw new IllegalArgumentException(
          "maintenance reason is "
              + reason.length()
              + " characters long; at most "
              + Maintenance.MAX_REASON_LENGTH
              + " are allowed");
    }
    for (int i = 0; i < reason.length(); i++) {
      if (Character.isISOControl(reason.charAt(i))) {
        throw new IllegalArgumentException(
            "maintenance reason holds a control character (code "
                + (int) reason.charAt(i)
                + ") at position "
                + i
                + "; give it as one line of text");
      }
    }
  }

  static Maintenance toApi(MaintenanceMode m) {
    if (m.getIndex() == 0) {
      return Maintenance.NEVER_SET;
    }
    return new Maintenance(
        m.getOn(),
        m.getReason(),
        m.getRequester().isEmpty() ? Optional.empty() : Optional.of(m.getRequester()),
        m.getClient().isEmpty() ? Optional.empty() : Optional.of(m.getClient()),
        m.getProposedAtMs() == 0
            ? Optional.empty()
            : Optional.of(Instant.ofEpochMilli(m.getProposedAtMs())),
        m.getIndex());
  }

  private static long lastApplied(BatonStateMachine sm) {
    var last = sm.getLastAppliedTermIndex();
    return last == null ? -1 : last.getIndex();
  }
}
