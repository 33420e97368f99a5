package dev.baton.core;

/**
 * A watch from a revision that the node can no longer replay: a key was deleted after it (deletes
 * leave no trace to replay), or the node started from a snapshot newer than it, or (for a watch
 * that takes the role changes too) the activation history dropped the records after it. Re-read the
 * prefix with {@link KeyValueStore#list}, then watch from {@link #oldestReplayable()}.
 */
public final class WatchRevisionGoneException extends BatonException {
  private static final long serialVersionUID = 1L;

  private final long requested;
  private final long oldestReplayable;

  public WatchRevisionGoneException(long requested, long oldestReplayable) {
    super(
        "cannot replay the changes after revision "
            + requested
            + ": this node can replay only after revision "
            + oldestReplayable
            + " (a key was deleted, or the node restored a snapshot, after "
            + requested
            + ", or, for a watch of the role changes too, the activation history no longer"
            + " reaches back to it"
            + "); re-read the prefix and watch from revision "
            + oldestReplayable);
    this.requested = requested;
    this.oldestReplayable = oldestReplayable;
  }

  /** The revision the watch asked to start after. */
  public long requested() {
    return requested;
  }

  /** The oldest revision after which this node can replay every change. */
  public long oldestReplayable() {
    return oldestReplayable;
  }
}
