package dev.baton.jepsen.node;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Asks the node {@code activeContext()} about once a millisecond and records when it answered
 * "active", per token, for the one-believer check (I2).
 *
 * <p>Each sample reads the clock before ({@code t0}) and after ({@code t1}) the call, so the
 * instant at which the answer was true lies in {@code [t0, t1]}. For one activation (one token) the
 * answer is true on a single interval of time (the role becomes ACTIVE once and the lease, once
 * lapsed, is never revived), so the node was certainly active from the first true sample's {@code
 * t1} to the last true sample's {@code t0}. That is what the harness compares between nodes.
 *
 * <p>Records: {@code sample} with {@code phase} {@code first} (a new token), {@code still} (every 5
 * ms while active, and at once after a gap in sampling, such as a SIGSTOP, so the first answer
 * after a resume is on disk before anything else happens), and {@code last} (the last true sample,
 * written when the first false one comes, with that false sample's times as {@code f0}/{@code f1}).
 */
final class ActiveSampler implements Runnable {
  private static final long PERIOD = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long STILL_EVERY = TimeUnit.MILLISECONDS.toNanos(5);
  private static final long GAP = TimeUnit.MILLISECONDS.toNanos(3);

  private final BatonNode node;
  private final EventLog log;
  private volatile boolean running = true;

  ActiveSampler(BatonNode node, EventLog log) {
    this.node = node;
    this.log = log;
  }

  void stop() {
    running = false;
  }

  @Override
  public void run() {
    long token = 0;
    long lastT0 = 0;
    long lastT1 = 0;
    long lastWritten = 0;
    long previousT1 = System.nanoTime();
    while (running) {
      long t0 = System.nanoTime();
      Optional<ActiveContext> ctx = node.activeContext();
      // activeContext() reads the current activation, then asks whether the lease holds; if this
      // node re-activated in between (a stall of this thread across a whole activation), the
      // answer belongs to the newer token. Reading the token again after the call proves the two
      // agree; a sample where they do not is dropped, neither true nor false.
      long tokenAfter = node.token();
      long t1 = System.nanoTime();
      long now = ctx.map(ActiveContext::token).orElse(0L);
      if (now != 0 && tokenAfter != now) {
        previousT1 = t1;
        LockSupport.parkNanos(PERIOD);
        continue;
      }
      if (now != 0) {
        if (now != token) {
          if (token != 0) {
            last(token, lastT0, lastT1, t0, t1);
          }
          token = now;
          record("first", token, t0, t1, null, null);
          lastWritten = t0;
        } else if (t0 - lastWritten >= STILL_EVERY || t0 - previousT1 > GAP) {
          record("still", token, t0, t1, null, null);
          lastWritten = t0;
        }
        lastT0 = t0;
        lastT1 = t1;
      } else if (token != 0) {
        last(token, lastT0, lastT1, t0, t1);
        token = 0;
      }
      previousT1 = t1;
      LockSupport.parkNanos(PERIOD);
    }
  }

  private void last(long token, long t0, long t1, long f0, long f1) {
    record("last", token, t0, t1, f0, f1);
  }

  private void record(String phase, long token, long t0, long t1, Long f0, Long f1) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("e", "sample");
    m.put("time", t0);
    m.put("phase", phase);
    m.put("token", token);
    m.put("t0", t0);
    m.put("t1", t1);
    if (f0 != null) {
      m.put("f0", f0);
      m.put("f1", f1);
    }
    log.writeMap(m);
  }
}
