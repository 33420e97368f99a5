package dev.baton.testing.cluster;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * Asks every node "are you active?" over and over, from one thread, and proves overlaps rather than
 * guessing them: in one round every node is read twice, in a fixed order. If node X answers active
 * with token t at read i and again with the same t at a later read j, X was active for the whole
 * span between (a node's belief in one activation ends once and never comes back), so any other
 * node answering active at a read between i and j was active at the same instant.
 */
public final class BelieverSampler implements AutoCloseable {
  private final Supplier<List<BatonNode>> nodes;
  private final List<String> violations = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;
  private volatile long rounds;
  private volatile long activeReads;
  private final java.util.Set<String> seenActive =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  public BelieverSampler(Supplier<List<BatonNode>> nodes) {
    this.nodes = nodes;
    this.thread = new Thread(this::run, "believer-sampler");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  private record Read(String node, long token, long nanos) {}

  private void run() {
    while (running) {
      List<BatonNode> all = nodes.get();
      List<Read> reads = new ArrayList<>(all.size() * 2);
      for (int pass = 0; pass < 2; pass++) {
        for (BatonNode n : all) {
          Optional<ActiveContext> ctx = n.activeContext();
          long t = System.nanoTime();
          if (ctx.isPresent()) {
            reads.add(new Read(n.id() + "#" + System.identityHashCode(n), ctx.get().token(), t));
            activeReads++;
            seenActive.add(n.id());
          } else {
            reads.add(null);
          }
        }
      }
      check(reads);
      rounds++;
    }
  }

  private void check(List<Read> reads) {
    for (int i = 0; i < reads.size(); i++) {
      Read a = reads.get(i);
      if (a == null) {
        continue;
      }
      for (int j = i + 1; j < reads.size(); j++) {
        Read b = reads.get(j);
        if (b == null || !b.node.equals(a.node) || b.token != a.token) {
          continue;
        }
        for (int k = i + 1; k < j; k++) {
          Read c = reads.get(k);
          if (c != null && !c.node.equals(a.node)) {
            violations.add(
                "two actives at once: "
                    + a.node
                    + " (token "
                    + a.token
                    + ") and "
                    + c.node
                    + " (token "
                    + c.token
                    + ") at t="
                    + c.nanos);
          }
        }
      }
    }
  }

  public List<String> violations() {
    return List.copyOf(violations);
  }

  /** The ids of every node that was ever seen active. */
  public java.util.Set<String> seenActive() {
    return java.util.Set.copyOf(seenActive);
  }

  public long rounds() {
    return rounds;
  }

  public long activeReads() {
    return activeReads;
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.join(5000);
  }
}
