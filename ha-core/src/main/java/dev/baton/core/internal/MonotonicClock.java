package dev.baton.core.internal;

import dev.baton.core.Ticker;
import java.util.Objects;

/**
 * The only time source the role logic reads: the node's {@link Ticker} ({@link System#nanoTime()}
 * unless the embedder injected another), never wall-clock time, so clock steps (NTP, an operator)
 * cannot shorten or stretch a lease. Nothing outside the builder can change it: no system property
 * switches it (a property is one {@code JAVA_TOOL_OPTIONS} away in production).
 */
public final class MonotonicClock {
  private final Ticker ticker;

  private MonotonicClock(Ticker ticker) {
    this.ticker = Objects.requireNonNull(ticker, "ticker");
  }

  public static MonotonicClock of(Ticker ticker) {
    return new MonotonicClock(ticker);
  }

  public static MonotonicClock system() {
    return new MonotonicClock(Ticker.system());
  }

  public long nanoTime() {
    return ticker.read();
  }
}
