package dev.baton.core.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.server.leader.LogAppender;
import org.jspecify.annotations.Nullable;

/**
 * The source of a heartbeat-based lease (issue 33, slice 1): on the leader, the latest time at
 * which this node <em>sent</em> an AppendEntries round (a heartbeat or entries) that a majority of
 * the current configuration acknowledged with {@code SUCCESS} in the leader's current term, the
 * leader counting itself. Ratis sends these rounds anyway (every {@code electionTimeoutMin / 2}
 * when idle), so a lease renewed from this value costs no log entry.
 *
 * <p><b>Where the figures come from.</b> {@link AckTrackingGrpcFactory} wraps the {@code
 * LeaderState} of every Ratis log appender (one per follower and leadership). Ratis asks that state
 * to build each AppendEntries request ({@code newAppendEntriesRequestProto}) and tells it of each
 * reply ({@code onAppendEntriesReply}); the wrapper reads this node's clock in the first, keyed by
 * the request's call id and term, and reports a reply here ({@link #acknowledged}) only when it is
 * {@code SUCCESS}, carries the term the request was sent in, and matches a request it saw built.
 * Ratis's own {@code FollowerInfo.getLastRespondedAppendEntriesSendTime()} is not used: it is also
 * moved by {@code NOT_LEADER} and {@code INCONSISTENCY} replies, and it is a {@code
 * System.nanoTime()} reading.
 *
 * <p><b>Clock.</b> Every time here is a reading of the node's {@link MonotonicClock} (its injected
 * {@code Ticker}), the clock the lease arithmetic ({@link Lease}) uses, so no mapping from Ratis's
 * {@code Timestamp} (always {@code System.nanoTime()}) is needed, and a drifting test ticker drives
 * this source exactly as it drives the lease. The reading is taken while Ratis builds the request,
 * under the appender's lock, before Ratis stamps its own send time and before the request is
 * written to the stream (it may even wait out {@code raft.server.log.appender.wait-time.min} in
 * between). So the reading is never later than the real send: any error makes the start of a lease
 * earlier, hence the lease shorter, never longer. A follower that acknowledged with {@code SUCCESS}
 * received the request after that reading and heard from a valid leader of this term then, which is
 * what step 2 of docs/lease.md needs.
 *
 * <p><b>Rules.</b> Figures belong to one term: an acknowledgement of a newer term than the one held
 * discards the old figures; one of an older term is ignored; {@link #majorityAckedSendTime} answers
 * only for the term it is asked about, so a node that leads again later starts from its new term's
 * acknowledgements. Within a term the answer never goes backwards (a high-water mark): a late
 * acknowledgement of an older round, a follower removed from the configuration or a new one without
 * acknowledgements yet cannot move it back. The leader counts itself as having acknowledged at the
 * moment of the question. During a configuration change (joint consensus) the answer is the earlier
 * of the two configurations' majorities. All times are compared by difference, so a ticker whose
 * readings wrap past {@link Long#MAX_VALUE} is handled.
 *
 * <p><b>Rate.</b> Ratis sends a heartbeat only every {@code electionTimeoutMin / 2} when idle, too
 * rarely for a lease that must be renewed before its last {@code demotionReserve}. {@link
 * #triggerHeartbeats()} asks every log appender of the current leadership to send one now ({@code
 * LogAppender.triggerHeartbeat()}); the role controller calls it every {@code renewInterval} while
 * it holds the role, and renews the lease from {@link RaftNode#majorityAckedSendTime(long)}
 * (docs/lease.md, step 1).
 */
public final class HeartbeatAcks {
  private final MonotonicClock clock;
  private final String selfId;

  // Guarded by this.
  private long term = -1;
  private final Map<String, Long> latestAck = new HashMap<>();
  private boolean hasHighWater;
  private long highWater;
  // The log appenders of the latest leadership this node's server started, by follower id; a
  // restarted appender replaces the old one. Guarded by itself.
  private final Map<String, LogAppender> appenders = new HashMap<>();
  private @Nullable Object appendersOf;
  // When each follower was last asked for a heartbeat in this term (a clock reading taken before
  // the ask), and where the next partial ask starts in the sorted followers. Guarded by this.
  private final Map<String, Long> lastAsked = new HashMap<>();
  private int rotation;
  // How many acknowledgements have been reported, for readers waiting for the next one. Guarded by
  // this.
  private long acknowledgements;

  public HeartbeatAcks(MonotonicClock clock, String selfId) {
    this.clock = clock;
    this.selfId = selfId;
  }

  /**
   * Ratis created {@code appender} for {@code follower} under {@code leaderState} (one per
   * leadership): appenders of an earlier leadership are forgotten.
   */
  void appenderCreated(Object leaderState, String follower, LogAppender appender) {
    synchronized (appenders) {
      if (appendersOf != leaderState) {
        appenders.clear();
        appendersOf = leaderState;
      }
      appenders.put(follower, appender);
    }
  }

  /**
   * The match index of {@code follower} as the log appender of the latest leadership knows it (the
   * last entry the follower is known to hold); -1 when there is no appender for it.
   */
  long matchIndex(String follower) {
    LogAppender a;
    synchronized (appenders) {
      a = appenders.get(follower);
    }
    return a == null ? -1 : a.getFollower().getMatchIndex();
  }

  /**
   * Asks each log appender of the latest leadership to send an AppendEntries (a heartbeat) now
   * rather than after Ratis's idle interval. Harmless on appenders that have stopped.
   *
   * @return how many appenders were asked
   */
  int triggerHeartbeats() {
    List<LogAppender> now;
    synchronized (appenders) {
      now = new ArrayList<>(appenders.values());
    }
    for (LogAppender a : now) {
      a.triggerHeartbeat();
    }
    return now.size();
  }

  /**
   * Asks only {@code needed} of {@code followers} for a heartbeat now (enough, with the leader, for
   * a majority), in rotation, so that an idle leader does not make every follower answer every
   * round; the others still get Ratis's own heartbeats, every {@code electionTimeoutMin / 2}. Only
   * responsive followers are chosen: one asked before that has not yet acknowledged a round sent
   * after that ask is left out. When fewer than {@code needed} are responsive, every follower is
   * asked. Which followers are asked never changes what counts: {@link #majorityAckedSendTime}
   * reads the same acknowledgements whoever was asked.
   *
   * @return how many appenders were asked
   */
  int triggerHeartbeats(Collection<String> followers, int needed) {
    List<String> chosen = choose(followers, needed);
    List<LogAppender> ask = new ArrayList<>();
    synchronized (appenders) {
      for (String f : chosen) {
        LogAppender a = appenders.get(f);
        if (a != null) {
          ask.add(a);
        }
      }
    }
    for (LogAppender a : ask) {
      a.triggerHeartbeat();
    }
    return ask.size();
  }

  /**
   * The followers {@link #triggerHeartbeats(Collection, int)} asks, recorded as asked now: {@code
   * needed} responsive ones in rotation, or all of them when fewer are responsive.
   */
  synchronized List<String> choose(Collection<String> followers, int needed) {
    List<String> order = new ArrayList<>(followers);
    order.remove(selfId);
    order.sort(null);
    if (needed <= 0 || order.isEmpty()) {
      return List.of();
    }
    long now = clock.nanoTime();
    List<String> chosen = new ArrayList<>();
    for (int i = 0; i < order.size() && chosen.size() < needed; i++) {
      String f = order.get(Math.floorMod(rotation + i, order.size()));
      Long asked = lastAsked.get(f);
      Long acked = latestAck.get(f);
      if (asked == null || (acked != null && acked - asked >= 0)) {
        chosen.add(f);
      }
    }
    if (chosen.size() < needed) {
      chosen = order;
    }
    rotation = Math.floorMod(rotation + needed, order.size());
    for (String f : chosen) {
      lastAsked.put(f, now);
    }
    return chosen;
  }

  /** A reading of the node's clock, taken before a request is sent. */
  long read() {
    return clock.nanoTime();
  }

  /**
   * {@code follower} acknowledged with SUCCESS, in {@code replyTerm}, a request sent in that term
   * at {@code sentAt} (a reading of {@link #read()} taken before the send).
   */
  synchronized void acknowledged(String follower, long replyTerm, long sentAt) {
    if (replyTerm < term) {
      return;
    }
    if (replyTerm > term) {
      term = replyTerm;
      latestAck.clear();
      lastAsked.clear();
      hasHighWater = false;
    }
    latestAck.merge(follower, sentAt, (a, b) -> b - a > 0 ? b : a);
    acknowledgements++;
    notifyAll();
  }

  /** How many acknowledgements have been reported so far: the argument of {@link #awaitNext}. */
  synchronized long acknowledgements() {
    return acknowledgements;
  }

  /**
   * Waits at most {@code nanos} until an acknowledgement beyond the first {@code seen} ones is
   * reported (a linearizable read waiting for its round, {@link RaftNode#read}).
   */
  synchronized void awaitNext(long seen, long nanos) throws InterruptedException {
    long end = System.nanoTime() + nanos;
    long left = nanos;
    while (acknowledgements == seen && left > 0) {
      TimeUnit.NANOSECONDS.timedWait(this, left);
      left = end - System.nanoTime();
    }
  }

  /**
   * The latest send time (a reading of the node's clock) of a request that {@code follower}
   * acknowledged with SUCCESS in {@code currentTerm}; empty if it has acknowledged none in that
   * term. A follower whose Raft server is not running (restarted a moment ago) has none after its
   * restart.
   */
  public synchronized OptionalLong acknowledgedBy(String follower, long currentTerm) {
    Long a = currentTerm == term ? latestAck.get(follower) : null;
    return a == null ? OptionalLong.empty() : OptionalLong.of(a);
  }

  /**
   * The latest send time (a reading of the node's clock) of a round that a majority of {@code
   * voters} (and of {@code previousVoters} too, when that is not empty: a configuration change in
   * progress) acknowledged with SUCCESS in {@code currentTerm}; empty if no round of that term has
   * such a majority yet. The caller passes the term it leads in now.
   */
  public synchronized OptionalLong majorityAckedSendTime(
      long currentTerm, Collection<String> voters, Collection<String> previousVoters) {
    if (currentTerm != term) {
      if (currentTerm > term) {
        term = currentTerm;
        latestAck.clear();
        lastAsked.clear();
        hasHighWater = false;
      }
      // No acknowledgement of this term yet (or a question about an old term): nothing to say,
      // except for a configuration this node forms a majority of on its own.
    }
    long now = clock.nanoTime();
    OptionalLong current = majority(voters, now);
    OptionalLong value = current;
    if (current.isPresent() && previousVoters != null && !previousVoters.isEmpty()) {
      OptionalLong previous = majority(previousVoters, now);
      value =
          previous.isEmpty()
              ? previous
              : OptionalLong.of(earlier(current.getAsLong(), previous.getAsLong()));
    }
    if (currentTerm == term && value.isPresent()) {
      long v = value.getAsLong();
      if (!hasHighWater || v - highWater > 0) {
        highWater = v;
        hasHighWater = true;
      }
    }
    return currentTerm == term && hasHighWater ? OptionalLong.of(highWater) : OptionalLong.empty();
  }

  /** The send time a majority of {@code voters} acknowledged; empty without such a majority. */
  private OptionalLong majority(Collection<String> voters, long now) {
    if (voters.isEmpty()) {
      return OptionalLong.empty();
    }
    List<Long> acks = new ArrayList<>();
    for (String v : voters) {
      if (v.equals(selfId)) {
        acks.add(now);
      } else {
        Long a = latestAck.get(v);
        if (a != null) {
          acks.add(a);
        }
      }
    }
    int needed = voters.size() / 2 + 1;
    if (acks.size() < needed) {
      return OptionalLong.empty();
    }
    // Latest first; the needed-th latest is the latest time that many voters acknowledged.
    acks.sort((a, b) -> Long.signum(b - a));
    return OptionalLong.of(acks.get(needed - 1));
  }

  private static long earlier(long a, long b) {
    return a - b < 0 ? a : b;
  }
}
