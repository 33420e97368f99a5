package dev.baton.jepsen.node;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Records the node's Raft port refusal counter ({@code baton.raft.refused}, every kind) as a {@code
 * refusals} record each time it rises, read every 20 ms: the outsider check's evidence that an
 * attempt reached this node and was refused here. The client cannot tell that alone: a plaintext
 * call to a port that wants TLS fails just as a call to a port nobody listens on does.
 */
public final class RefusalRecorder implements Runnable {
  private static final long PERIOD = TimeUnit.MILLISECONDS.toNanos(20);

  private final MeterRegistry meters;
  private final EventLog log;
  private volatile boolean running = true;

  public RefusalRecorder(MeterRegistry meters, EventLog log) {
    this.meters = meters;
    this.log = log;
  }

  public void stop() {
    running = false;
  }

  @Override
  public void run() {
    long written = 0;
    while (running) {
      long count =
          (long)
              meters.find("baton.raft.refused").counters().stream()
                  .mapToDouble(Counter::count)
                  .sum();
      if (count != written) {
        written = count;
        log.write("refusals", "count", count);
      }
      LockSupport.parkNanos(PERIOD);
    }
  }
}
