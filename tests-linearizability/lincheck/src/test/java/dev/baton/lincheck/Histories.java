package dev.baton.lincheck;

import dev.baton.lincheck.io.HistoryFiles;

/** Small histories for tests, written as Jepsen log lines or EDN maps. */
public final class Histories {
  private Histories() {}

  /**
   * A history from lines like {@code "0 :invoke :write 1"} (process, type, f, value), in real-time
   * order.
   */
  public static History log(String... lines) {
    StringBuilder sb = new StringBuilder();
    for (String l : lines) {
      sb.append("INFO  jepsen.util - ").append(l).append('\n');
    }
    return HistoryFiles.parseJepsenLog("test.log", sb.toString());
  }

  /** A history from EDN op maps, one per line. */
  public static History edn(String text) {
    return HistoryFiles.parseEdn("test.edn", text);
  }
}
