package dev.baton.jepsen.node;

import dev.baton.core.BatonNode;
import dev.baton.core.JournalEntry;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Copies the replicated promotion journal, as this node's replica holds it, into the event log
 * every half second, each record once: the input of the I5 check (every promotion that began was
 * completed, by its node or by a successor with a higher token). The journal is replicated, so
 * every node's copy is the same log read at different moments; the checker takes their union.
 */
final class JournalRecorder implements Runnable {
  private static final long PERIOD = TimeUnit.MILLISECONDS.toNanos(500);

  private final BatonNode node;
  private final EventLog log;
  private final Set<String> seen = new HashSet<>();
  private volatile boolean running = true;

  JournalRecorder(BatonNode node, EventLog log) {
    this.node = node;
    this.log = log;
  }

  void stop() {
    running = false;
  }

  @Override
  public void run() {
    while (running) {
      try {
        for (JournalEntry j : node.cluster().journal()) {
          String key =
              j.nodeId()
                  + "/"
                  + j.token()
                  + "/"
                  + j.step()
                  + "/"
                  + j.phase()
                  + "/"
                  + j.attempt()
                  + "/"
                  + j.outcome();
          if (seen.add(key)) {
            log.write(
                "journal",
                "node",
                j.nodeId(),
                "token",
                j.token(),
                "step",
                j.step(),
                "phase",
                j.phase().name(),
                "attempt",
                j.attempt(),
                "outcome",
                j.outcome().name());
          }
        }
      } catch (RuntimeException e) {
        // The node is closing or restarting its server; the next round reads again.
      }
      LockSupport.parkNanos(PERIOD);
    }
  }
}
