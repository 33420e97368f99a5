package dev.baton.dns;

import dev.baton.core.Fence;
import dev.baton.core.StepContext;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fence TXT record of a {@link DnsSwitch} as a {@link Fence}. Advancing it is the same
 * compare-and-set as a switch, without touching the names; a later {@link DnsSwitch#promote} with
 * the same token then only rewrites the names. Obtain it with {@link DnsSwitch#fence()}.
 */
public final class DnsFence implements Fence {
  private static final Logger LOG = LoggerFactory.getLogger(DnsFence.class);

  private final String name;
  private final ZoneReader reader;
  private final FenceCompareAndSet cas;
  private final Duration operationTimeout;

  DnsFence(String name, ZoneReader reader, FenceCompareAndSet cas, Duration operationTimeout) {
    this.name = name;
    this.reader = reader;
    this.cas = cas;
    this.operationTimeout = operationTimeout;
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Moves the fence to {@code token}. Holding it already changes nothing.
   *
   * @throws DnsStaleTokenException the fence holds a higher token
   */
  @Override
  public void advance(long token, StepContext context) throws Exception {
    DnsSwitch.requirePositive(token);
    Logger log = context.log() != null ? context.log() : LOG;
    Deadline deadline =
        DnsSwitch.contextDeadline(context, operationTimeout, reader.primary(), reader.zone());
    FenceState before = cas.compareAndSet(token, context.nodeId(), false, deadline, log);
    if (before != null) {
      log.info(
          "dns: fence {} advanced from {} to token={} on {}",
          reader.fenceName(),
          before.describe(),
          token,
          reader.primary());
    }
  }

  @Override
  public long currentToken() throws InterruptedException {
    return reader.readFence(reader.primary(), true, Deadline.in(operationTimeout)).token();
  }

  @Override
  public String toString() {
    return "DnsFence[" + reader.fenceName() + " on " + reader.primary() + "]";
  }
}
