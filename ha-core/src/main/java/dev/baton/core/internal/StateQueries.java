package dev.baton.core.internal;

import dev.baton.core.internal.proto.KvEntryProto;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.QueryResult;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Read-only answers from the replicated state: the {@link Query} protocol, served both to Ratis's
 * read-only queries ({@link BatonStateMachine#query}, which the leader's read-index read in {@link
 * RaftNode#read} also calls) and to a linearizable read applied as a log entry ({@code KV_READ}, in
 * {@link CommandApplier}). The caller holds the state machine's lock.
 */
final class StateQueries {
  private StateQueries() {}

  /** The answer to {@code query} from the state applied so far; null for an unknown kind. */
  static @Nullable QueryResult answer(ReplicatedState state, Query query) {
    QueryResult.Builder result = QueryResult.newBuilder();
    switch (query.getKindCase()) {
      case GET -> {
        KvEntryProto e = state.kv.get(query.getGet());
        if (e != null) {
          result.addEntries(e);
        }
      }
      case LIST_PREFIX -> {
        String prefix = query.getListPrefix();
        for (Map.Entry<String, KvEntryProto> e : state.kv.tailMap(prefix, true).entrySet()) {
          if (!e.getKey().startsWith(prefix)) {
            break;
          }
          result.addEntries(e.getValue());
        }
      }
      case STATE -> result.setState(state.toSnapshot(false));
      default -> {
        return null;
      }
    }
    return result.build();
  }
}
