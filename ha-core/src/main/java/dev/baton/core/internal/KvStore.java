package dev.baton.core.internal;

import com.google.protobuf.ByteString;
import dev.baton.core.BatonException;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.KvCas;
import dev.baton.core.internal.proto.KvDelete;
import dev.baton.core.internal.proto.KvPut;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.QueryResult;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The KeyValueStore over Raft: writes through the log; linearizable reads by read index on the
 * leader, through the log elsewhere (see RaftNode#read).
 */
public final class KvStore implements KeyValueStore {
  private final RaftNode raft;

  public KvStore(RaftNode raft) {
    this.raft = raft;
  }

  @Override
  public Optional<KvEntry> get(String key) {
    KeyValues.check(key, null);
    QueryResult r = raft.read(query().setGet(key).build());
    return r.getEntriesCount() == 0
        ? Optional.empty()
        : Optional.of(KeyValues.toEntry(r.getEntries(0)));
  }

  @Override
  public List<KvEntry> list(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    QueryResult r = raft.read(query().setListPrefix(prefix).build());
    return r.getEntriesList().stream().map(KeyValues::toEntry).toList();
  }

  @Override
  public KvEntry put(String key, byte[] value) {
    Objects.requireNonNull(value, "value");
    KeyValues.check(key, value);
    CommandResult r =
        write(
            command()
                .setKvPut(KvPut.newBuilder().setKey(key).setValue(ByteString.copyFrom(value))));
    return KeyValues.toEntry(r.getEntry());
  }

  @Override
  public Optional<KvEntry> compareAndSet(String key, byte @Nullable [] expected, byte[] update) {
    Objects.requireNonNull(update, "update");
    KeyValues.check(key, update);
    KvCas.Builder cas = KvCas.newBuilder().setKey(key).setValue(ByteString.copyFrom(update));
    if (expected == null) {
      cas.setExpectAbsent(true);
    } else {
      cas.setExpectedValue(ByteString.copyFrom(expected));
    }
    return casResult(write(command().setKvCas(cas)));
  }

  @Override
  public Optional<KvEntry> compareAndSetRevision(String key, long expectedRevision, byte[] update) {
    Objects.requireNonNull(update, "update");
    KeyValues.check(key, update);
    if (expectedRevision < 0) {
      throw new IllegalArgumentException(
          "expected revision " + expectedRevision + " for key '" + key + "' is negative");
    }
    return casResult(
        write(
            command()
                .setKvCas(
                    KvCas.newBuilder()
                        .setKey(key)
                        .setByRevision(true)
                        .setExpectedRevision(expectedRevision)
                        .setValue(ByteString.copyFrom(update)))));
  }

  @Override
  public boolean delete(String key) {
    KeyValues.check(key, null);
    return write(command().setKvDelete(KvDelete.newBuilder().setKey(key))).getExisted();
  }

  @Override
  public Watch watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(executor, "executor");
    Objects.requireNonNull(listener, "listener");
    AutoCloseable handle = raft.stateMachine().watch(prefix, executor, listener);
    return () -> {
      try {
        handle.close();
      } catch (Exception e) {
        throw new BatonException("closing watch on '" + prefix + "' failed", e);
      }
    };
  }

  @Override
  public Watch watch(
      String prefix, long afterRevision, Executor executor, Consumer<KvEvent> listener) {
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(executor, "executor");
    Objects.requireNonNull(listener, "listener");
    if (afterRevision < 0) {
      throw new IllegalArgumentException("afterRevision must be 0 or more, not " + afterRevision);
    }
    if (afterRevision == 0) {
      return watch(prefix, executor, listener);
    }
    AutoCloseable handle = raft.stateMachine().watch(prefix, afterRevision, executor, listener);
    return () -> {
      try {
        handle.close();
      } catch (Exception e) {
        throw new BatonException("closing watch on '" + prefix + "' failed", e);
      }
    };
  }

  private Optional<KvEntry> casResult(CommandResult r) {
    return r.getApplied() ? Optional.of(KeyValues.toEntry(r.getEntry())) : Optional.empty();
  }

  private CommandResult write(Command.Builder command) {
    CommandResult r = raft.write(command.build());
    if (!r.getApplied() && !r.getRefusal().isEmpty()) {
      throw new IllegalArgumentException(r.getRefusal());
    }
    return r;
  }

  private static Command.Builder command() {
    return Commands.builder();
  }

  private static Query.Builder query() {
    return Query.newBuilder().setFormatVersion(BatonStateMachine.FORMAT_VERSION);
  }
}
