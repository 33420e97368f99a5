package dev.baton.dns;

import dev.baton.core.ActionContext;
import dev.baton.core.Fence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fence TXT record of a {@link DnsSwitch} as a {@link Fence}. Advancing it is the same
 * compare-and-set as a switch, without touching the names; a later {@link DnsSwitch#promote} with
 * the same token then only rewrites the names. Obtain it with {@link DnsSwitch#fence()}.
 */
public final class DnsFence implements Fence {
  private static final Logger LOG = LoggerFactory.getLogger(DnsFence.class);

  private final DnsSwitch owner;

  DnsFence(DnsSwitch owner) {
    this.owner = owner;
  }

  @Override
  public String name() {
    return owner.name() + "-fence";
  }

  /**
   * Moves the fence to {@code token}. Holding it already changes nothing.
   *
   * @throws DnsStaleTokenException the fence holds a higher token
   */
  @Override
  public void advance(long token, ActionContext context) throws Exception {
    DnsSwitch.requirePositive(token);
    Logger log = context.log() != null ? context.log() : LOG;
    FenceState before =
        owner
            .cas()
            .compareAndSet(token, context.nodeId(), false, owner.contextDeadline(context), log);
    if (before != null) {
      log.info(
          "dns: fence {} advanced from {} to token={} on {}",
          owner.fenceRecordName(),
          before.describe(),
          token,
          owner.server());
    }
  }

  @Override
  public long currentToken() throws InterruptedException {
    return owner.currentToken();
  }

  @Override
  public String toString() {
    return "DnsFence[" + owner.fenceRecordName() + " on " + owner.server() + "]";
  }
}
