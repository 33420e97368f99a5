package dev.baton.core.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.baton.core.Activation;
import dev.baton.core.KvEvent;
import dev.baton.core.WatchRevisionGoneException;
import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.MaintenanceMode;
import dev.baton.core.internal.proto.MemberRecord;
import dev.baton.core.internal.proto.MembershipOutcome;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.QueryResult;
import dev.baton.core.internal.proto.Snapshot;
import dev.baton.core.internal.proto.SwitchRequest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftConfigurationProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicated state: the current activation and its token, member metadata, the promotion
 * journal, a pending switch-active request, maintenance mode, and the key-value store.
 *
 * <p>This class is the Ratis-facing side: lifecycle, admission of client requests, the apply loop
 * (skip, count, notify), and the read-only views the node and its services use. The state itself is
 * a {@link ReplicatedState}; what each entry does to it is {@link CommandApplier}; the {@link
 * dev.baton.core.internal.proto.Query} protocol is {@link StateQueries}; snapshot files are {@link
 * SnapshotStore}; KV watches are {@link KvWatches}; which client requests may reach the log is
 * {@link EntryAdmission}.
 *
 * <p>Ratis applies entries one at a time on its updater thread; queries and snapshots may run
 * concurrently, so the state is guarded by {@code lock}. Observers are called on the apply thread
 * after the lock is released and must only hand work off.
 *
 * <p>Why this class is over 450 lines: about 360 of them are code, the rest the Javadoc of the read
 * views and the watches that the node's services use; each job above is already a class of its own,
 * and what is left here is the Ratis lifecycle, the apply loop and one locked accessor per view.
 */
public final class BatonStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(BatonStateMachine.class);

  /** The newest entry and snapshot format this code reads and writes. */
  public static final int FORMAT_VERSION = 1;

  /** Something applied: called on the apply thread, after the state changed. */
  public interface Observer {
    void applied(Command command, CommandResult result, long index, long term);
  }

  private final Object lock = new Object();
  private final SnapshotStore snapshots = new SnapshotStore();
  private final CopyOnWriteArrayList<Observer> observers = new CopyOnWriteArrayList<>();
  private final KvWatches watches = new KvWatches();
  private final CopyOnWriteArrayList<Runnable> leaderChangeListeners = new CopyOnWriteArrayList<>();
  private final RefusalLog refusals = new RefusalLog(LOG);
  private final AtomicLong membershipVersion = new AtomicLong();
  // Null until trustLocalClient: then no request may carry a LOCAL_ONLY kind.
  private volatile @Nullable ClientId localClient;
  private volatile BiConsumer<String, String> rejected = (stage, reason) -> {};
  private volatile Consumer<String> onUnreadableLog = reason -> {};
  // Set once a committed entry is in a format newer than this code reads: from then on nothing is
  // applied (lastApplied stays before that entry), so that an upgraded node resumes from there.
  private volatile @Nullable String stoppedAt;

  // Guarded by lock.
  private final ReplicatedState state;
  private final CommandApplier applier;

  /** A state machine that keeps the default number of activations in its history (100). */
  public BatonStateMachine() {
    this(ActivationHistory.DEFAULT_LIMIT);
  }

  /**
   * A state machine that keeps the newest {@code historyLimit} activations in its history.
   *
   * @throws IllegalArgumentException if {@code historyLimit} is below 1
   */
  public BatonStateMachine(int historyLimit) {
    state = new ReplicatedState(historyLimit);
    applier = new CommandApplier(state, watches, membershipVersion);
  }

  public void addObserver(Observer observer) {
    observers.add(observer);
  }

  public void removeObserver(Observer observer) {
    observers.remove(observer);
  }

  public void addLeaderChangeListener(Runnable listener) {
    leaderChangeListeners.add(listener);
  }

  /**
   * The client id of this node's in-process submissions ({@link RaftNode#submitLocal}): only
   * requests with it may carry the {@link EntryAdmission#LOCAL_ONLY} kinds. It is random per
   * process and never sent over the network by this node.
   */
  public void trustLocalClient(ClientId id) {
    this.localClient = id;
  }

  /**
   * Called once, on a thread of its own, when a committed entry is in a format newer than this code
   * reads: the state machine has stopped applying, and the node must stop (it cannot follow its
   * cluster's log; an upgraded release on the same data directory resumes from that entry).
   */
  public void onUnreadableLog(Consumer<String> stop) {
    this.onUnreadableLog = stop;
  }

  /** Why this state machine stopped applying the log, if it did. */
  public Optional<String> stoppedAt() {
    return Optional.ofNullable(stoppedAt);
  }

  /** Called with the stage ("admission" or "apply") and a reason for every entry refused. */
  public void onRejected(BiConsumer<String, String> counter) {
    this.rejected = counter;
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    super.initialize(server, groupId, raftStorage);
    getLifeCycle()
        .startAndTransition(
            () -> {
              snapshots.init(raftStorage);
              loadLatestSnapshot();
            },
            IOException.class);
  }

  /**
   * Ratis pauses the state machine before it installs a snapshot sent by the leader (a member that
   * joins, or one that fell behind the leader's purged log), and asserts it is PAUSED when it calls
   * {@link #reinitialize()}. Nothing here holds files open between calls.
   */
  @Override
  public void pause() {
    synchronized (lock) {
      if (getLifeCycleState() == LifeCycle.State.RUNNING) {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
      }
    }
  }

  /** Loads the newest snapshot (one just installed from the leader) and resumes. */
  @Override
  public void reinitialize() throws IOException {
    loadLatestSnapshot();
    synchronized (lock) {
      if (getLifeCycleState() == LifeCycle.State.PAUSED) {
        getLifeCycle().transition(LifeCycle.State.STARTING);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
      }
    }
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return snapshots.storage();
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    leaderChangeListeners.forEach(Runnable::run);
  }

  @Override
  public void notifyLeaderReady() {
    leaderChangeListeners.forEach(Runnable::run);
  }

  /**
   * Runs on the leader before a client request is appended: an entry this state machine would not
   * apply is refused here, so it never reaches the log (the caller gets the reason). Unreadable
   * bytes, an unknown kind, a newer format, and a role entry ({@link EntryAdmission#LOCAL_ONLY})
   * that did not come from this node's own process are refused; the apply path tolerates them as
   * well, for logs written before this check existed.
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext trx = super.startTransaction(request);
    String[] refusal = EntryAdmission.check(request, localClient);
    if (refusal != null) {
      rejected.accept("admission", refusal[0]);
      String message =
          "refused an entry from client "
              + request.getClientId()
              + " before appending it: "
              + refusal[1];
      refusals.refused(
          "admission|" + refusal[0], () -> "state machine of " + getId() + ": REFUSED: " + message);
      trx.setException(new IOException(message));
    }
    return trx;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    final LogEntryProto entry = trx.getLogEntry();
    final long index = entry.getIndex();
    final long term = entry.getTerm();
    Command command;
    CommandResult result;
    final List<Runnable> events = new ArrayList<>();
    try {
      command = Command.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      command = null;
    }
    String skipped = null;
    synchronized (lock) {
      if (stoppedAt != null) {
        // Stopped at an entry in a newer format: apply nothing after it either.
        return CompletableFuture.completedFuture(
            message(CommandApplier.refuse("not applied: " + stoppedAt).toByteArray()));
      }
      if (command != null && command.getFormatVersion() > FORMAT_VERSION) {
        stoppedAt =
            "committed entry "
                + index
                + " has format version "
                + command.getFormatVersion()
                + " but this node reads up to version "
                + FORMAT_VERSION
                + ": it stops rather than skip it, so that its state never departs from its"
                + " peers'; upgrade this node to a release that reads format "
                + command.getFormatVersion()
                + " and start it again on the same data directory, which resumes from that entry";
        rejected.accept("apply", "format");
        String reason = stoppedAt;
        LOG.error("state machine of {}: STOPPED: {}", getId(), reason);
        Thread stopper = new Thread(() -> onUnreadableLog.accept(reason), "baton-unreadable-log");
        stopper.setDaemon(true);
        stopper.start();
        return CompletableFuture.completedFuture(
            message(CommandApplier.refuse(reason).toByteArray()));
      }
      if (command == null) {
        skipped = "unreadable";
        result =
            CommandApplier.refuse(
                "entry " + index + " is not a Baton command (unreadable protobuf)");
      } else {
        result = applier.apply(command, index, term, events);
        if (command.getKindCase() == Command.KindCase.KIND_NOT_SET) {
          skipped = "unknown-kind";
        }
      }
      updateLastAppliedTermIndex(term, index);
    }
    if (skipped != null) {
      // Skipped, never thrown: an exception here would stop this server for good.
      rejected.accept("apply", skipped);
      String reason = result.getRefusal();
      refusals.refused(
          "apply|" + skipped,
          () -> "state machine of " + getId() + ": skipped committed entry: " + reason);
    }
    if (command != null) {
      for (Observer observer : observers) {
        try {
          observer.applied(command, result, index, term);
        } catch (RuntimeException e) {
          LOG.warn("observer failed on entry {}", index, e);
        }
      }
    }
    events.forEach(Runnable::run);
    return CompletableFuture.completedFuture(message(result.toByteArray()));
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    final Query query;
    try {
      query = Query.parseFrom(request.getContent().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException("unreadable query: " + e.getMessage()));
    }
    QueryResult result;
    synchronized (lock) {
      result = StateQueries.answer(state, query);
    }
    if (result == null) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException("query has no known kind"));
    }
    return CompletableFuture.completedFuture(message(result.toByteArray()));
  }

  /** The state this node has applied so far (not linearizable; for status and observers). */
  public Snapshot localState(boolean withKv) {
    synchronized (lock) {
      return state.toSnapshot(withKv);
    }
  }

  /** The value of {@code key} as this node has applied it (not linearizable), if any. */
  public Optional<byte[]> localValue(String key) {
    synchronized (lock) {
      var e = state.kv.get(key);
      return e == null ? Optional.empty() : Optional.of(e.getValue().toByteArray());
    }
  }

  /**
   * The revision (the log index of its last write) of {@code key} as this node has applied it, if
   * the key exists.
   */
  public java.util.OptionalLong localRevision(String key) {
    synchronized (lock) {
      var e = state.kv.get(key);
      return e == null
          ? java.util.OptionalLong.empty()
          : java.util.OptionalLong.of(e.getRevision());
    }
  }

  /** The activation history as this node has applied it, oldest token first. */
  public List<dev.baton.core.Activation> history() {
    List<dev.baton.core.internal.proto.HistoryRecord> records;
    synchronized (lock) {
      records = state.history.records();
    }
    return records.stream().map(ActivationHistory::toApi).toList();
  }

  /**
   * The newest activation before {@code token} that completed its promotion, as this node has
   * applied the history ({@link ActivationHistory#promotedBefore}).
   */
  Optional<ActivationHistory.Promoted> promotedBefore(long token) {
    synchronized (lock) {
      return state.history.promotedBefore(token);
    }
  }

  /**
   * Maintenance mode as this node has applied it (the default instance, off with index 0, when it
   * was never set).
   */
  public MaintenanceMode maintenance() {
    synchronized (lock) {
      return state.maintenance;
    }
  }

  public ActivationRecord activation() {
    synchronized (lock) {
      return state.activation;
    }
  }

  public long highestToken() {
    synchronized (lock) {
      return state.highestToken;
    }
  }

  public List<MemberRecord> members() {
    synchronized (lock) {
      return state.members;
    }
  }

  public SwitchRequest pendingSwitch() {
    synchronized (lock) {
      return state.pendingSwitch;
    }
  }

  /** The membership request the leader has yet to carry out (the default instance: none). */
  public MembershipRequest pendingMembership() {
    synchronized (lock) {
      return state.pendingMembership;
    }
  }

  /** The log index of the entry that last set the member list (0: none yet). */
  public long membersIndex() {
    synchronized (lock) {
      return state.membersIndex;
    }
  }

  /** How membership request {@code requestId} ended, once this node has applied its end. */
  public Optional<MembershipOutcome> membershipOutcome(String requestId) {
    synchronized (lock) {
      return state.membershipOutcome(requestId);
    }
  }

  /** Changes whenever the member records, a pending request or the Raft configuration change. */
  long membershipVersion() {
    return membershipVersion.get();
  }

  @Override
  public void notifyConfigurationChanged(
      long term, long index, RaftConfigurationProto newRaftConfiguration) {
    membershipVersion.incrementAndGet();
  }

  @Override
  public long takeSnapshot() throws IOException {
    final Snapshot snapshot;
    final TermIndex last;
    synchronized (lock) {
      last = getLastAppliedTermIndex();
      snapshot = state.toSnapshot(true);
    }
    if (last == null || last.getIndex() < 0) {
      return org.apache.ratis.server.raftlog.RaftLog.INVALID_LOG_INDEX;
    }
    snapshots.write(snapshot, last);
    return last.getIndex();
  }

  private void loadLatestSnapshot() throws IOException {
    SnapshotStore.Loaded loaded = snapshots.readLatest();
    if (loaded == null) {
      return;
    }
    Snapshot snapshot = loaded.snapshot();
    synchronized (lock) {
      state.restore(snapshot);
      state.replayFloor = Math.max(state.replayFloor, loaded.termIndex().getIndex());
      setLastAppliedTermIndex(loaded.termIndex());
    }
    membershipVersion.incrementAndGet();
    LOG.info(
        "restored snapshot {} ({} keys, highest token {})",
        loaded.termIndex(),
        snapshot.getKvCount(),
        snapshot.getHighestToken());
  }

  /** Registers a watch on a key prefix; events are delivered in apply order on the executor. */
  public AutoCloseable watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
    return watches.register(prefix, executor, listener, List.of());
  }

  /**
   * Registers a watch that first replays, as puts in revision order, every key under {@code prefix}
   * whose revision is above {@code afterRevision} (its latest value), then delivers every later
   * change. Both happen under the apply lock, so no change falls between them.
   *
   * @throws WatchRevisionGoneException when a delete after {@code afterRevision} (or a restored
   *     snapshot newer than it) makes the replay incomplete
   */
  public AutoCloseable watch(
      String prefix, long afterRevision, Executor executor, Consumer<KvEvent> listener) {
    return watch(prefix, afterRevision, executor, listener, null);
  }

  /**
   * As {@link #watch(String, long, Executor, Consumer)}, and also delivers to {@code activations}
   * (null for none) every activation as it applies, in log order with the key changes (its token is
   * its log index); with {@code afterRevision} above 0, first the activations with a token above
   * it, from the history, merged with the keys' replay.
   *
   * @throws WatchRevisionGoneException also when the history no longer reaches back to {@code
   *     afterRevision} (its oldest records were dropped beyond the limit)
   */
  public AutoCloseable watch(
      String prefix,
      long afterRevision,
      Executor executor,
      Consumer<KvEvent> listener,
      @Nullable Consumer<Activation> activations) {
    synchronized (lock) {
      if (afterRevision == 0) {
        return watches.register(prefix, 0, executor, listener, activations, List.of(), List.of());
      }
      long activeToken = state.activation.getToken();
      Optional<List<Activation>> replayActivations =
          activations == null
              ? Optional.of(List.of())
              : state.history.after(afterRevision, activeToken);
      if (afterRevision < state.replayFloor || replayActivations.isEmpty()) {
        long floor = state.replayFloor;
        if (replayActivations.isEmpty()) {
          floor = Math.max(floor, state.history.replayFloor(activeToken));
        }
        throw new WatchRevisionGoneException(afterRevision, floor);
      }
      List<KvEvent> replay = new ArrayList<>();
      for (var e : state.kv.tailMap(prefix, true).entrySet()) {
        if (!e.getKey().startsWith(prefix)) {
          break;
        }
        if (e.getValue().getRevision() > afterRevision) {
          replay.add(
              new KvEvent(
                  KvEvent.Type.PUT, KeyValues.toEntry(e.getValue()), e.getValue().getRevision()));
        }
      }
      replay.sort(java.util.Comparator.comparingLong(KvEvent::revision));
      return watches.register(
          prefix, afterRevision, executor, listener, activations, replay, replayActivations.get());
    }
  }

  static Message message(byte[] bytes) {
    return Message.valueOf(ByteString.copyFrom(bytes));
  }
}
