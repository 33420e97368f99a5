package dev.baton.sidecar.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.baton.sidecar.Json;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;

/**
 * What the demo tells its reader: time-stamped events (also kept for the JSON summary's timeline)
 * and a progress line while it waits.
 */
final class Narrator {
  private final PrintStream out;
  private final long start = System.nanoTime();
  private final ArrayNode timeline = Json.mapper().createArrayNode();
  private final boolean tty = System.console() != null;
  private long progressSince;
  private long progressShown;
  private String progressWhat;

  Narrator(PrintStream out) {
    this.out = out;
  }

  PrintStream out() {
    return out;
  }

  /** The events so far, each with its time since the demo started. */
  ArrayNode timeline() {
    return timeline;
  }

  void event(String text) {
    out.println(stamp() + " " + text);
    out.flush();
    timeline.addObject().put("atMillis", ms(System.nanoTime() - start)).put("event", text);
  }

  void progressStart(String what) {
    progressWhat = what;
    progressSince = System.nanoTime();
    progressShown = 0;
  }

  /** Shows what is awaited once it has taken half a second, then the elapsed time. */
  void progressTick() {
    long elapsed = ms(System.nanoTime() - progressSince);
    if (elapsed < 500) {
      return;
    }
    if (tty) {
      out.printf("\r%s   ... %s (%.1f s)  ", stamp(), progressWhat, elapsed / 1000.0);
    } else if (progressShown == 0) {
      out.printf("%s   ... %s", stamp(), progressWhat);
      progressShown = elapsed;
    } else if (elapsed - progressShown >= 1000) {
      out.print(".");
      progressShown = elapsed;
    }
    if (progressShown == 0) {
      progressShown = elapsed;
    }
    out.flush();
  }

  void progressEnd() {
    if (progressShown > 0) {
      if (tty) {
        out.print("\r" + " ".repeat(100) + "\r");
      } else {
        out.println();
      }
    }
    progressShown = 0;
  }

  private String stamp() {
    return String.format("[%6.2f s]", (System.nanoTime() - start) / 1e9);
  }

  static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
