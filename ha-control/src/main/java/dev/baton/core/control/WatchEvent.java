package dev.baton.core.control;

import dev.baton.core.Activation;
import dev.baton.core.KvEntry;
import java.util.Optional;

/**
 * One change that {@link BatonClient#watchKeyChanges} streams: a key put or deleted, or (when the
 * watch asked for roles) a change of the active, in log order.
 *
 * @param type what changed
 * @param entry for {@link Type#PUT}, the new entry; for {@link Type#DELETE}, the last entry before
 *     the key was deleted; empty for {@link Type#ACTIVATED}
 * @param revision the revision of this change (for a delete, the revision of the delete itself; for
 *     an activation, its token)
 * @param activation for {@link Type#ACTIVATED}: the activation; live, as it applied (the reason as
 *     known then; promoted, resigned and steps come later, in the history); replayed, its history
 *     record as it is by then. Empty otherwise
 */
public record WatchEvent(
    Type type, Optional<KvEntry> entry, long revision, Optional<Activation> activation) {

  /** What changed. */
  public enum Type {
    /** A key was set. */
    PUT,
    /** A key was deleted. */
    DELETE,
    /** The active changed. */
    ACTIVATED,
    /**
     * A value this client does not know: a newer member sent it. A client reads it as this rather
     * than failing, as the control API asks of every client (COMPATIBILITY.md); Baton never records
     * it.
     */
    UNKNOWN
  }
}
