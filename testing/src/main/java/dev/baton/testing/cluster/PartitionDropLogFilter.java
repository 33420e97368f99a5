package dev.baton.testing.cluster;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Drops, from test output, the ERROR with a stack trace that Ratis logs for every message that
 * {@link NetworkPartition} drops: logger {@value #LOGGER}, message {@code "<id>: Failed
 * appendEntries ..."}, thrown {@code IllegalStateException: partitioned: a -> b}. A partitioned
 * test logged hundreds of them (185 in one PartitionTest run), burying real failures. Only that
 * event is dropped: the same logger with any other cause, and every other logger, pass (issue 29).
 * Used in the logback-test.xml of the modules whose tests partition.
 */
public final class PartitionDropLogFilter extends Filter<ILoggingEvent> {
  /** The logger of Ratis's {@code RaftServerImpl} (its {@code Division} interface's name). */
  public static final String LOGGER = "org.apache.ratis.server.RaftServer$Division";

  /** How {@link NetworkPartition} words the exception of a dropped message. */
  static final String DROPPED = "partitioned: ";

  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (!LOGGER.equals(event.getLoggerName())) {
      return FilterReply.NEUTRAL;
    }
    for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
      if (IllegalStateException.class.getName().equals(t.getClassName())
          && t.getMessage() != null
          && t.getMessage().startsWith(DROPPED)) {
        return FilterReply.DENY;
      }
    }
    return FilterReply.NEUTRAL;
  }
}
