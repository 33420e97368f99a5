package dev.baton.core.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.JournalRecord;
import dev.baton.core.internal.proto.KvCas;
import dev.baton.core.internal.proto.KvEntryProto;
import dev.baton.core.internal.proto.LeaseRound;
import dev.baton.core.internal.proto.MemberRecord;
import dev.baton.core.internal.proto.MembershipOutcome;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.QueryResult;
import dev.baton.core.internal.proto.Snapshot;
import dev.baton.core.internal.proto.SwitchRequest;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.apache.ratis.io.MD5Hash;
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
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicated state: the current activation and its token, member metadata, the promotion
 * journal, a pending switch-active request, and the key-value store.
 *
 * <p>Ratis applies entries one at a time on its updater thread; queries and snapshots may run
 * concurrently, so the state is guarded by {@code lock}. Observers are called on the apply thread
 * after the lock is released and must only hand work off.
 */
public final class BatonStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(BatonStateMachine.class);

  /** The newest entry and snapshot format this code reads and writes. */
  public static final int FORMAT_VERSION = 1;

  /** How many journal records the state keeps (the oldest are dropped first). */
  static final int JOURNAL_CAPACITY = 2000;

  /** How many membership outcomes the state keeps, for requesters to find theirs. */
  static final int MEMBERSHIP_OUTCOMES = 32;

  /**
   * Entries only the leader's own process may propose (the role controller, the promotion journal,
   * the membership coordinator). The lease, the tokens and the member list rest on them; a client
   * request carrying one, whoever sent it, is refused before it is appended.
   */
  static final Set<Command.KindCase> LOCAL_ONLY =
      EnumSet.of(
          Command.KindCase.ACTIVATE,
          Command.KindCase.LEASE_ROUND,
          Command.KindCase.RESIGN,
          Command.KindCase.JOURNAL,
          Command.KindCase.SET_MEMBERS,
          Command.KindCase.MEMBERSHIP_DONE);

  /** Something applied: called on the apply thread, after the state changed. */
  public interface Observer {
    void applied(Command command, CommandResult result, long index, long term);
  }

  private final Object lock = new Object();
  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final CopyOnWriteArrayList<Observer> observers = new CopyOnWriteArrayList<>();
  private final CopyOnWriteArrayList<WatchRegistration> watches = new CopyOnWriteArrayList<>();
  private final CopyOnWriteArrayList<Runnable> leaderChangeListeners = new CopyOnWriteArrayList<>();
  private final RefusalLog refusals = new RefusalLog(LOG);
  private final AtomicLong membershipVersion = new AtomicLong();
  private volatile ClientId localClient;
  private volatile BiConsumer<String, String> rejected = (stage, reason) -> {};

  // Guarded by lock.
  private final TreeMap<String, KvEntryProto> kv = new TreeMap<>();
  private ActivationRecord activation = ActivationRecord.getDefaultInstance();
  private long highestToken;
  private List<MemberRecord> members = List.of();
  private final ArrayDeque<JournalRecord> journal = new ArrayDeque<>();
  private SwitchRequest pendingSwitch = SwitchRequest.getDefaultInstance();
  private MembershipRequest pendingMembership = MembershipRequest.getDefaultInstance();
  private long membersIndex;
  private final ArrayDeque<MembershipOutcome> membershipOutcomes = new ArrayDeque<>();

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
   * requests with it may carry the {@link #LOCAL_ONLY} kinds. It is random per process and never
   * sent over the network by this node.
   */
  public void trustLocalClient(ClientId id) {
    this.localClient = id;
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
              storage.init(raftStorage);
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
    return storage;
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
   * bytes, an unknown kind, a newer format, and a role entry ({@link #LOCAL_ONLY}) that did not
   * come from this node's own process are refused; the apply path tolerates them as well, for logs
   * written before this check existed.
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext trx = super.startTransaction(request);
    String[] refusal = admission(request);
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

  /** Null to admit; else {reason label, explanation}. */
  private String[] admission(RaftClientRequest request) {
    Command command;
    try {
      command = Command.parseFrom(request.getMessage().getContent().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      return new String[] {"unreadable", "not a Baton command (unreadable protobuf)"};
    }
    if (command.getFormatVersion() > FORMAT_VERSION) {
      return new String[] {
        "format",
        "format version "
            + command.getFormatVersion()
            + " but this leader reads up to version "
            + FORMAT_VERSION
      };
    }
    if (command.getKindCase() == Command.KindCase.KIND_NOT_SET) {
      return new String[] {"unknown-kind", "a Baton command of no known kind"};
    }
    ClientId local = localClient;
    if (LOCAL_ONLY.contains(command.getKindCase())
        && (local == null || !local.equals(request.getClientId()))) {
      return new String[] {
        "not-local",
        "a role entry ("
            + command.getKindCase()
            + "), which only the leader's own process may propose, arrived from a client"
      };
    }
    return null;
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
      if (command == null) {
        skipped = "unreadable";
        result = refuse("entry " + index + " is not a Baton command (unreadable protobuf)");
      } else if (command.getFormatVersion() > FORMAT_VERSION) {
        skipped = "format";
        result =
            refuse(
                "entry "
                    + index
                    + " has format version "
                    + command.getFormatVersion()
                    + " but this node reads up to version "
                    + FORMAT_VERSION
                    + "; upgrade this node");
      } else {
        result = apply(command, index, term, events);
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

  private CommandResult apply(Command command, long index, long term, List<Runnable> events) {
    switch (command.getKindCase()) {
      case ACTIVATE -> {
        var a = command.getActivate();
        // The proposer names the term it leads; an entry appended in another term was not
        // proposed by that term's leader and must not activate anyone.
        if (a.getTerm() != term) {
          return refuse(
              "activation of " + a.getNodeId() + " for term " + a.getTerm() + " in term " + term);
        }
        ActivationRecord previous = activation;
        activation =
            ActivationRecord.newBuilder()
                .setNodeId(a.getNodeId())
                .setToken(index)
                .setTerm(term)
                .setPreviousNodeId(previous.getNodeId())
                .setPreviousToken(previous.getToken())
                .build();
        highestToken = Math.max(highestToken, index);
        if (!pendingSwitch.getTargetNodeId().isEmpty()
            && pendingSwitch.getTargetNodeId().equals(a.getNodeId())) {
          pendingSwitch = SwitchRequest.getDefaultInstance();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case LEASE_ROUND -> {
        LeaseRound round = command.getLeaseRound();
        if (round.getTerm() != term) {
          return refuse("lease round for term " + round.getTerm());
        }
        if (round.getActiveToken() != 0
            && round.getActiveToken() == activation.getToken()
            && round.getNodeId().equals(activation.getNodeId())
            && !activation.getResigned()
            && !activation.getPromoted()) {
          activation = activation.toBuilder().setPromoted(true).build();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case RESIGN -> {
        var r = command.getResign();
        if (activation.getToken() == r.getToken() && activation.getNodeId().equals(r.getNodeId())) {
          activation = activation.toBuilder().setResigned(true).build();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case KV_READ -> {
        QueryResult answer = answerLocked(command.getKvRead().getQuery());
        if (answer == null) {
          return refuse("read at entry " + index + " has no known kind");
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).setRead(answer).build();
      }
      case KV_PUT -> {
        var p = command.getKvPut();
        String error = KeyValues.validate(p.getKey(), p.getValue().size());
        if (error != null) {
          return refuse(error);
        }
        KvEntryProto entry = put(p.getKey(), p.getValue(), index, events);
        return CommandResult.newBuilder().setApplied(true).setIndex(index).setEntry(entry).build();
      }
      case KV_CAS -> {
        KvCas c = command.getKvCas();
        String error = KeyValues.validate(c.getKey(), c.getValue().size());
        if (error != null) {
          return refuse(error);
        }
        KvEntryProto current = kv.get(c.getKey());
        boolean matches;
        if (c.getByRevision()) {
          long currentRevision = current == null ? 0 : current.getRevision();
          matches = currentRevision == c.getExpectedRevision();
        } else if (c.getExpectAbsent()) {
          matches = current == null;
        } else {
          matches = current != null && current.getValue().equals(c.getExpectedValue());
        }
        if (!matches) {
          CommandResult.Builder r = CommandResult.newBuilder().setApplied(false).setIndex(index);
          if (current != null) {
            r.setEntry(current).setExisted(true);
          }
          return r.build();
        }
        KvEntryProto entry = put(c.getKey(), c.getValue(), index, events);
        return CommandResult.newBuilder().setApplied(true).setIndex(index).setEntry(entry).build();
      }
      case KV_DELETE -> {
        String key = command.getKvDelete().getKey();
        KvEntryProto removed = kv.remove(key);
        if (removed != null) {
          KvEntry last = KeyValues.toEntry(removed);
          notifyWatches(key, new KvEvent(KvEvent.Type.DELETE, last, index), events);
        }
        return CommandResult.newBuilder()
            .setApplied(true)
            .setIndex(index)
            .setExisted(removed != null)
            .build();
      }
      case SWITCH_REQUEST -> {
        pendingSwitch = command.getSwitchRequest();
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case SET_MEMBERS -> {
        members = List.copyOf(command.getSetMembers().getMembersList());
        membersIndex = index;
        String requestId = command.getSetMembers().getRequestId();
        if (!requestId.isEmpty()) {
          if (pendingMembership.getRequestId().equals(requestId)) {
            pendingMembership = MembershipRequest.getDefaultInstance();
          }
          recordOutcome(requestId, true, "");
        }
        membershipVersion.incrementAndGet();
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case MEMBERSHIP_REQUEST -> {
        MembershipRequest r = command.getMembershipRequest();
        if (r.getRequestId().isEmpty() || r.getMembersCount() == 0) {
          return refuse("a membership request needs an id and at least one member");
        }
        if (!pendingMembership.getRequestId().isEmpty()) {
          if (pendingMembership.getRequestId().equals(r.getRequestId())) {
            return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
          }
          return refuse(
              "membership change ("
                  + pendingMembership.getDescription()
                  + ") is still in progress; try again once it is done");
        }
        if (r.getBaseMembersIndex() != membersIndex) {
          return refuse(
              "the member list changed (at log index "
                  + membersIndex
                  + ") after this request read it; read the members again and retry");
        }
        pendingMembership = r;
        membershipVersion.incrementAndGet();
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case MEMBERSHIP_DONE -> {
        var d = command.getMembershipDone();
        if (pendingMembership.getRequestId().equals(d.getRequestId())) {
          pendingMembership = MembershipRequest.getDefaultInstance();
          recordOutcome(d.getRequestId(), false, d.getError());
          membershipVersion.incrementAndGet();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case JOURNAL -> {
        journal.addLast(command.getJournal());
        while (journal.size() > JOURNAL_CAPACITY) {
          journal.removeFirst();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      default -> {
        return refuse("entry " + index + " has no known command kind");
      }
    }
  }

  private void recordOutcome(String requestId, boolean ok, String error) {
    membershipOutcomes.addLast(
        MembershipOutcome.newBuilder().setRequestId(requestId).setOk(ok).setError(error).build());
    while (membershipOutcomes.size() > MEMBERSHIP_OUTCOMES) {
      membershipOutcomes.removeFirst();
    }
  }

  private KvEntryProto put(
      String key, com.google.protobuf.ByteString value, long index, List<Runnable> events) {
    KvEntryProto current = kv.get(key);
    KvEntryProto entry =
        KvEntryProto.newBuilder()
            .setKey(key)
            .setValue(value)
            .setRevision(index)
            .setCreateRevision(current == null ? index : current.getCreateRevision())
            .build();
    kv.put(key, entry);
    notifyWatches(key, new KvEvent(KvEvent.Type.PUT, KeyValues.toEntry(entry), index), events);
    return entry;
  }

  private void notifyWatches(String key, KvEvent event, List<Runnable> events) {
    for (WatchRegistration w : watches) {
      if (key.startsWith(w.prefix)) {
        events.add(() -> w.deliver(event));
      }
    }
  }

  private static CommandResult refuse(String reason) {
    return CommandResult.newBuilder().setApplied(false).setRefusal(reason).build();
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
      result = answerLocked(query);
    }
    if (result == null) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException("query has no known kind"));
    }
    return CompletableFuture.completedFuture(message(result.toByteArray()));
  }

  /** The answer to {@code query} from the state applied so far; null for an unknown kind. */
  private QueryResult answerLocked(Query query) {
    QueryResult.Builder result = QueryResult.newBuilder();
    switch (query.getKindCase()) {
      case GET -> {
        KvEntryProto e = kv.get(query.getGet());
        if (e != null) {
          result.addEntries(e);
        }
      }
      case LIST_PREFIX -> {
        String prefix = query.getListPrefix();
        for (Map.Entry<String, KvEntryProto> e : kv.tailMap(prefix, true).entrySet()) {
          if (!e.getKey().startsWith(prefix)) {
            break;
          }
          result.addEntries(e.getValue());
        }
      }
      case STATE -> result.setState(snapshotLocked(false));
      default -> {
        return null;
      }
    }
    return result.build();
  }

  /** The state this node has applied so far (not linearizable; for status and observers). */
  public Snapshot localState(boolean withKv) {
    synchronized (lock) {
      return snapshotLocked(withKv);
    }
  }

  public ActivationRecord activation() {
    synchronized (lock) {
      return activation;
    }
  }

  public long highestToken() {
    synchronized (lock) {
      return highestToken;
    }
  }

  public List<MemberRecord> members() {
    synchronized (lock) {
      return members;
    }
  }

  public SwitchRequest pendingSwitch() {
    synchronized (lock) {
      return pendingSwitch;
    }
  }

  /** The membership request the leader has yet to carry out (the default instance: none). */
  public MembershipRequest pendingMembership() {
    synchronized (lock) {
      return pendingMembership;
    }
  }

  /** The log index of the entry that last set the member list (0: none yet). */
  public long membersIndex() {
    synchronized (lock) {
      return membersIndex;
    }
  }

  /** How membership request {@code requestId} ended, once this node has applied its end. */
  public Optional<MembershipOutcome> membershipOutcome(String requestId) {
    synchronized (lock) {
      for (MembershipOutcome o : membershipOutcomes) {
        if (o.getRequestId().equals(requestId)) {
          return Optional.of(o);
        }
      }
      return Optional.empty();
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

  private Snapshot snapshotLocked(boolean withKv) {
    Snapshot.Builder s =
        Snapshot.newBuilder()
            .setFormatVersion(FORMAT_VERSION)
            .setActivation(activation)
            .setHighestToken(highestToken)
            .addAllMembers(members)
            .addAllJournal(journal)
            .setPendingSwitch(pendingSwitch)
            .setPendingMembership(pendingMembership)
            .setMembersIndex(membersIndex)
            .addAllMembershipOutcomes(membershipOutcomes);
    if (withKv) {
      s.addAllKv(kv.values());
    }
    return s.build();
  }

  @Override
  public long takeSnapshot() throws IOException {
    final Snapshot snapshot;
    final TermIndex last;
    synchronized (lock) {
      last = getLastAppliedTermIndex();
      snapshot = snapshotLocked(true);
    }
    if (last == null || last.getIndex() < 0) {
      return org.apache.ratis.server.raftlog.RaftLog.INVALID_LOG_INDEX;
    }
    File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    File tmp = new File(file.getParentFile(), file.getName() + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp.toPath())) {
      snapshot.writeTo(out);
    }
    Files.move(
        tmp.toPath(),
        file.toPath(),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
    storage.updateLatestSnapshot(
        new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
    LOG.info(
        "snapshot at term {} index {}: {} keys, token {}",
        last.getTerm(),
        last.getIndex(),
        snapshot.getKvCount(),
        snapshot.getHighestToken());
    return last.getIndex();
  }

  private void loadLatestSnapshot() throws IOException {
    SingleFileSnapshotInfo info = storage.loadLatestSnapshot();
    if (info == null) {
      return;
    }
    File file = info.getFile().getPath().toFile();
    MD5Hash expected = info.getFile().getFileDigest();
    if (expected == null) {
      expected = MD5FileUtil.readStoredMd5ForFile(file);
    }
    MD5Hash actual = MD5FileUtil.computeMd5ForFile(file);
    if (expected != null && !expected.equals(actual)) {
      throw new IOException("snapshot " + file + " is corrupt: MD5 does not match its .md5 file");
    }
    Snapshot snapshot;
    try (InputStream in = Files.newInputStream(file.toPath())) {
      snapshot = Snapshot.parseFrom(in);
    }
    if (snapshot.getFormatVersion() > FORMAT_VERSION) {
      throw new IOException(
          "snapshot "
              + file
              + " has format version "
              + snapshot.getFormatVersion()
              + " but this node reads up to version "
              + FORMAT_VERSION);
    }
    synchronized (lock) {
      kv.clear();
      snapshot.getKvList().forEach(e -> kv.put(e.getKey(), e));
      activation = snapshot.getActivation();
      highestToken = snapshot.getHighestToken();
      members = List.copyOf(snapshot.getMembersList());
      journal.clear();
      journal.addAll(snapshot.getJournalList());
      pendingSwitch = snapshot.getPendingSwitch();
      pendingMembership = snapshot.getPendingMembership();
      membersIndex = snapshot.getMembersIndex();
      membershipOutcomes.clear();
      membershipOutcomes.addAll(snapshot.getMembershipOutcomesList());
      setLastAppliedTermIndex(info.getTermIndex());
    }
    membershipVersion.incrementAndGet();
    LOG.info(
        "restored snapshot {} ({} keys, highest token {})",
        info.getTermIndex(),
        snapshot.getKvCount(),
        snapshot.getHighestToken());
  }

  /** Registers a watch on a key prefix; events are delivered in apply order on the executor. */
  public AutoCloseable watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
    WatchRegistration registration = new WatchRegistration(prefix, executor, listener);
    watches.add(registration);
    return () -> watches.remove(registration);
  }

  static Message message(byte[] bytes) {
    return Message.valueOf(ByteString.copyFrom(bytes));
  }

  private static final class WatchRegistration {
    final String prefix;
    final SerialExecutor executor;
    final Consumer<KvEvent> listener;

    WatchRegistration(String prefix, Executor executor, Consumer<KvEvent> listener) {
      this.prefix = prefix;
      this.executor = new SerialExecutor(executor);
      this.listener = listener;
    }

    void deliver(KvEvent event) {
      executor.execute(
          () -> {
            try {
              listener.accept(event);
            } catch (RuntimeException e) {
              LOG.warn("watch listener for prefix '{}' failed", prefix, e);
            }
          });
    }
  }
}
