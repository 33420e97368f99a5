package dev.baton.core;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;

/** What a {@link PromotionAction} or {@link Fence} is told when it runs. */
public interface ActionContext {

  /** Whether the action is promoting (becoming active) or demoting (giving the role up). */
  enum Phase {
    PROMOTE,
    DEMOTE
  }

  /** The fencing token of the activation this run belongs to. */
  long token();

  /** The id of the cluster. */
  String clusterId();

  /** The id of this node. */
  String nodeId();

  /**
   * The node that was active before this activation: the newest earlier activation that completed
   * its promotion, as {@link ActiveContext#previousActive()} defines it.
   */
  Optional<String> previousActive();

  /**
   * The token of {@link #previousActive()}'s activation, or {@link BatonNode#NO_TOKEN} when it is
   * empty.
   */
  long previousToken();

  /** Which phase this run is in. */
  Phase phase();

  /** 1 for the first attempt, 2 for the first retry, and so on. */
  int attempt();

  /** How long this attempt may still take; zero or negative once its deadline has passed. */
  Duration deadline();

  /**
   * The highest token with which this action completed according to the cluster's journal, if it
   * ever did. An action uses it to skip work a predecessor already did (idempotency).
   */
  OptionalLong lastCompletedToken();

  /**
   * Whether this node's lease is valid at this instant. An action that is about to make a side
   * effect that the fences do not protect should check this first.
   */
  boolean isLeaseValid();

  /** A logger whose messages carry the node, action and token. */
  Logger log();
}
