package dev.baton.lincheck;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.jspecify.annotations.Nullable;

/**
 * The search for a linearization of one partition: the algorithm of Wing &amp; Gong ("Testing and
 * verifying concurrent objects", 1993) with the memoisation that Lowe added ("Testing for
 * linearizability", Concurrency and Computation 2017), in the iterative, list-based shape that
 * Porcupine popularised.
 *
 * <p>The history becomes a doubly linked list of call and return entries in real-time order. The
 * search repeatedly looks at the entries from the front: a call entry whose operation the model
 * accepts in the current state is <em>linearized</em> (its call and return entries are unlinked,
 * the previous state is pushed on a stack, and the search restarts from the front); a call the
 * model rejects is passed over. Reaching a return entry means that operation completed before it
 * could be linearized after the current prefix, so the last choice is undone (its entries are
 * linked back, the state popped) and the next candidate after it is tried. Reaching a return entry
 * with an empty stack means no order exists.
 *
 * <p>Lowe's memoisation: two search nodes with the same set of linearized operations and the same
 * model state have the same future, so each (set, state) configuration is explored once. The set is
 * a bitset with an incrementally maintained Zobrist hash.
 *
 * <p>Operations with an unknown outcome (info, or never completed) have a call entry and no return
 * entry: they may be linearized at any point after their invocation, or never. The search succeeds
 * once every {@code ok} operation is linearized. An unknown operation whose step leaves the state
 * unchanged is never linearized: leaving it out is always at least as good.
 *
 * <p>Models that return several next states are handled by searching over sets of states (the
 * power-set construction, as Porcupine does for nondeterministic models), which keeps the search
 * itself deterministic.
 *
 * <p>Size: about 500 lines, 420 of them code, on purpose: the linked entry list, the undo stack,
 * the memo's bitset and its hash are one algorithm whose invariants are read together (each undo
 * must restore exactly what its step changed), so they are kept in one class.
 */
// NullAway: the search's working state lives in fields that the first slice fills and finish()
// releases (null) for the collector, and the hot loop reads them on every step; a null check per
// read would cost the search its speed, so this class is not null-checked.
@SuppressWarnings("NullAway")
final class Search<S> {
  private static final int CHECK_EVERY = 1 << 10;

  /** Stands for a {@code null} model state (a register holding nil), so null can mean "none". */
  private static final Object NIL =
      new Object() {
        @Override
        public String toString() {
          return "nil";
        }
      };

  private final Model<S> model;
  private final String source;
  private final Object key;
  private final List<Operation> ops;
  private final long deadline;
  private final long memoryBudget;

  private Explanation deepest;
  private int deepestDepth = -1;

  Search(
      Model<S> model,
      @Nullable String source,
      @Nullable Object key,
      List<Operation> ops,
      long deadline,
      long memoryBudget) {
    this.model = model;
    this.source = source;
    this.key = key;
    this.ops = ops;
    this.deadline = deadline;
    this.memoryBudget = memoryBudget;
  }

  private static final class Node {
    final int op;
    final boolean call;
    Node match;
    Node prev;
    Node next;

    Node(int op, boolean call) {
      this.op = op;
      this.call = call;
    }
  }

  // The search's state lives in fields so that it can run in slices: the checker interleaves
  // the partitions (as Porcupine runs them concurrently) so that one partition that is quickly
  // refuted settles the verdict without waiting for a hard partition to finish.
  private Node head;
  private long[] zobristKeys;
  private long[] bits;
  private long zobrist;
  private Memo memo;
  private long stateBytes;
  private Node[] stackNode;
  private Object[] stackState;
  private int depth;
  private Object state;
  private Node cur;
  private int remaining;
  private long elapsedNanos;
  private long sliceStarted;
  private boolean inSlice;
  private long configurations;
  private PartitionResult result;

  private void init() {
    int n = ops.size();
    head = buildList(n);
    zobristKeys = new long[n];
    SplittableRandom random = new SplittableRandom(0x5eed_ba70L);
    for (int i = 0; i < n; i++) {
      zobristKeys[i] = random.nextLong();
      if (ops.get(i).isOk()) {
        remaining++;
      }
    }
    bits = new long[(n + 63) / 64];
    memo = new Memo(bits.length);
    stackNode = new Node[n];
    stackState = new Object[n];
    state = wrap(model.initialState());
    cur = head.next;
  }

  /**
   * Runs at most {@code maxSteps} steps of the search.
   *
   * @return the result when the search is over (an answer, or the time budget ran out), {@code
   *     null} when it can be resumed
   */
  PartitionResult run(long maxSteps) {
    if (result != null) {
      return result;
    }
    sliceStarted = System.nanoTime();
    inSlice = true;
    try {
      if (head == null) {
        init();
      }
      PartitionResult r = search(maxSteps);
      if (r != null) {
        finish(r);
      }
      return r;
    } catch (OutOfMemoryError e) {
      long size = configurations;
      memo = null; // let the collector have it back before anything else allocates
      stackState = null;
      return abandon(
          "out of memory after "
              + size
              + " configurations (give the JVM more heap or lower the memory budget)");
    } finally {
      elapsedNanos += System.nanoTime() - sliceStarted;
      inSlice = false;
    }
  }

  /** Ends the search with {@link Verdict#UNKNOWN} for {@code reason}, releasing its memory. */
  PartitionResult abandon(String reason) {
    if (result == null) {
      finish(result(Verdict.UNKNOWN, null, reason));
    }
    return result;
  }

  /** An estimate of the memory the memo holds. */
  long memoryBytes() {
    return memo == null ? 0 : memo.bytes() + stateBytes;
  }

  String memoryExhausted() {
    return "memory budget exhausted ("
        + configurations
        + " configurations, about "
        + (memoryBytes() >> 20)
        + " MiB)";
  }

  PartitionResult result() {
    return result;
  }

  private void finish(PartitionResult r) {
    result = r;
    memo = null;
    stateBytes = 0;
    stackNode = null;
    stackState = null;
    head = null;
    cur = null;
  }

  private PartitionResult search(long maxSteps) {
    for (long steps = 1; remaining > 0; steps++) {
      if (steps % CHECK_EVERY == 0) {
        if (System.nanoTime() - deadline > 0) {
          return result(
              Verdict.UNKNOWN,
              null,
              "time budget exhausted after " + configurations + " configurations");
        }
        if (memoryBytes() > memoryBudget) {
          return result(Verdict.UNKNOWN, null, memoryExhausted());
        }
        if (Thread.currentThread().isInterrupted()) {
          return result(Verdict.UNKNOWN, null, "interrupted");
        }
        if (steps >= maxSteps) {
          return null;
        }
      }
      if (cur.call) {
        Operation op = ops.get(cur.op);
        Object next = apply(state, op);
        boolean linearize = false;
        if (next != null && !(op.isUnknown() && next.equals(state))) {
          if (memo.full() && memo.bytesAfterGrowth() + stateBytes > memoryBudget) {
            return result(Verdict.UNKNOWN, null, memoryExhausted());
          }
          bits[cur.op >>> 6] |= 1L << cur.op;
          zobrist ^= zobristKeys[cur.op];
          linearize = memo.add(bits, next, hash(zobrist, next));
          if (linearize) {
            configurations++;
            stateBytes += stateBytes(next);
          } else {
            bits[cur.op >>> 6] &= ~(1L << cur.op);
            zobrist ^= zobristKeys[cur.op];
          }
        }
        if (linearize) {
          stackNode[depth] = cur;
          stackState[depth] = state;
          depth++;
          state = next;
          lift(cur);
          if (op.isOk()) {
            remaining--;
          }
          cur = head.next;
        } else {
          cur = cur.next;
        }
      } else {
        // cur's operation returned before it could be placed after the current prefix: every
        // order that extends this prefix fails here.
        if (depth > deepestDepth) {
          recordDeepest(head, cur, state, stackNode, depth);
        }
        if (depth == 0) {
          return result(Verdict.NOT_LINEARIZABLE, deepest, null);
        }
        depth--;
        Node call = stackNode[depth];
        state = stackState[depth];
        stackState[depth] = null;
        bits[call.op >>> 6] &= ~(1L << call.op);
        zobrist ^= zobristKeys[call.op];
        unlift(call);
        if (ops.get(call.op).isOk()) {
          remaining++;
        }
        cur = call.next;
      }
    }
    return result(Verdict.LINEARIZABLE, null, null);
  }

  private static int hash(long zobrist, Object state) {
    long h = zobrist * 0x9E3779B97F4A7C15L + state.hashCode();
    return (int) (h ^ (h >>> 32));
  }

  /** A rough size for states that are not shared with the history (strings built by appends). */
  private static long stateBytes(Object state) {
    return state instanceof String s ? 48L + s.length() : 0L;
  }

  private PartitionResult result(Verdict verdict, Explanation explanation, String reason) {
    return new PartitionResult(
        key,
        verdict,
        ops.size(),
        explanation,
        reason,
        configurations,
        Duration.ofNanos(elapsedNanos + (inSlice ? System.nanoTime() - sliceStarted : 0)));
  }

  /** Call and return entries, sorted by time; a call sorts before a return at the same time. */
  private Node buildList(int n) {
    record Entry(long at, boolean call, int op) {}
    List<Entry> entries = new ArrayList<>(2 * n);
    for (int i = 0; i < n; i++) {
      Operation op = ops.get(i);
      entries.add(new Entry(op.start(), true, i));
      if (op.isOk()) {
        entries.add(new Entry(op.end(), false, i));
      }
    }
    // Equal times are ambiguous (clocks have finite resolution): treating the two operations as
    // concurrent is the permissive reading, so calls go first.
    entries.sort(
        (a, b) -> {
          int c = Long.compare(a.at(), b.at());
          if (c != 0) {
            return c;
          }
          if (a.call() != b.call()) {
            return a.call() ? -1 : 1;
          }
          return Integer.compare(a.op(), b.op());
        });
    Node head = new Node(-1, false);
    Node[] calls = new Node[n];
    Node last = head;
    for (Entry e : entries) {
      Node node = new Node(e.op(), e.call());
      if (e.call()) {
        calls[e.op()] = node;
      } else {
        node.match = calls[e.op()];
        calls[e.op()].match = node;
      }
      node.prev = last;
      last.next = node;
      last = node;
    }
    return head;
  }

  /** Unlinks a call entry and its return entry (if any). */
  private static void lift(Node call) {
    unlink(call);
    if (call.match != null) {
      unlink(call.match);
    }
  }

  /** Links back what {@link #lift} unlinked, in reverse order (dancing links). */
  private static void unlift(Node call) {
    if (call.match != null) {
      relink(call.match);
    }
    relink(call);
  }

  private static void unlink(Node node) {
    node.prev.next = node.next;
    if (node.next != null) {
      node.next.prev = node.prev;
    }
  }

  private static void relink(Node node) {
    node.prev.next = node;
    if (node.next != null) {
      node.next.prev = node;
    }
  }

  /** The next state (or {@link StateSet}) after {@code op}, or {@code null} if impossible. */
  private Object apply(Object state, Operation op) {
    if (state instanceof StateSet set) {
      List<Object> all = new ArrayList<>();
      for (Object s : set.states) {
        for (S n : step(s, op)) {
          all.add(wrap(n));
        }
      }
      return StateSet.of(all);
    }
    List<S> next = step(state, op);
    return switch (next.size()) {
      case 0 -> null;
      case 1 -> wrap(next.get(0));
      default -> {
        List<Object> all = new ArrayList<>(next.size());
        for (S n : next) {
          all.add(wrap(n));
        }
        yield StateSet.of(all);
      }
    };
  }

  private static Object wrap(Object state) {
    return state == null ? NIL : state;
  }

  private static Object unwrap(Object state) {
    return state == NIL ? null : state;
  }

  @SuppressWarnings("unchecked")
  private List<S> step(Object state, Operation op) {
    try {
      List<S> next = model.step((S) unwrap(state), op);
      if (next == null) {
        throw new IllegalStateException("step returned null; return List.of() instead");
      }
      return next;
    } catch (RuntimeException e) {
      String where = op.invocation().line() > 0 ? ":" + op.invocation().line() : "";
      throw new IllegalArgumentException(
          (source == null ? "history" : source)
              + where
              + ": model "
              + model.name()
              + " cannot apply "
              + op
              + ": "
              + e.getMessage(),
          e);
    }
  }

  @SuppressWarnings("unchecked")
  private String describe(Object state) {
    if (state instanceof StateSet set) {
      List<String> each = new ArrayList<>();
      for (Object s : set.states) {
        each.add(model.describe((S) unwrap(s)));
      }
      Collections.sort(each);
      return "one of " + each;
    }
    return model.describe((S) unwrap(state));
  }

  private void recordDeepest(Node head, Node ret, Object state, Node[] stack, int depth) {
    deepestDepth = depth;
    List<Operation> prefix = new ArrayList<>(depth);
    for (int i = 0; i < depth; i++) {
      prefix.add(ops.get(stack[i].op));
    }
    List<Operation> unorderable = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    String stateText = describe(state);
    Operation blocked = ops.get(ret.op);
    unorderable.add(blocked);
    notes.add(
        apply(state, blocked) == null
            ? "impossible in state " + stateText + ", and it completed before anything else fit"
            : "possible in state " + stateText + ", but no order of the rest works after it");
    for (Node e = head.next; e != ret; e = e.next) {
      if (!e.call || e.op == ret.op) {
        continue;
      }
      Operation op = ops.get(e.op);
      Object next = apply(state, op);
      unorderable.add(op);
      if (next == null) {
        notes.add("impossible in state " + stateText);
      } else if (op.isUnknown() && next.equals(state)) {
        notes.add("outcome unknown, no effect in state " + stateText);
      } else {
        notes.add("possible, but no order of the rest works after it");
      }
    }
    deepest = new Explanation(key, prefix, stateText, unorderable, notes, blocked.end());
  }

  /** A set of possible states, for models with several outcomes per step. */
  static final class StateSet {
    final Set<Object> states;
    final int hash;

    private StateSet(Set<Object> states) {
      this.states = states;
      this.hash = states.hashCode();
    }

    static Object of(Collection<?> states) {
      Set<Object> set = new HashSet<>(states);
      if (set.isEmpty()) {
        return null;
      }
      if (set.size() == 1) {
        return set.iterator().next();
      }
      return new StateSet(Collections.unmodifiableSet(new LinkedHashSet<>(set)));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof StateSet s && s.hash == hash && s.states.equals(states);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
}
