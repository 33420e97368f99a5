package dev.baton.testing.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Only Ratis's ERROR for a message that NetworkPartition dropped is filtered out (issue 29). */
class PartitionDropLogFilterTest {
  private final LoggerContext context = new LoggerContext();
  private final PartitionDropLogFilter filter = new PartitionDropLogFilter();

  private FilterReply decide(String logger, Throwable thrown) {
    Logger l = context.getLogger(logger);
    return filter.decide(
        new LoggingEvent(
            Logger.class.getName(), l, Level.ERROR, "n3: Failed appendEntries", thrown, null));
  }

  @Test
  void dropsExactlyRatisErrorForADroppedMessage() {
    IllegalStateException dropped = new IllegalStateException("partitioned: n2 -> n3");
    assertThat(decide(PartitionDropLogFilter.LOGGER, dropped)).isEqualTo(FilterReply.DENY);
    assertThat(decide(PartitionDropLogFilter.LOGGER, new CompletionException(dropped)))
        .isEqualTo(FilterReply.DENY);
    // Anything else passes: another cause, no cause, another logger.
    assertThat(decide(PartitionDropLogFilter.LOGGER, new IllegalStateException("log corrupt")))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(PartitionDropLogFilter.LOGGER, null)).isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide("org.apache.ratis.server.impl.RaftServerImpl", dropped))
        .isEqualTo(FilterReply.NEUTRAL);
  }
}
