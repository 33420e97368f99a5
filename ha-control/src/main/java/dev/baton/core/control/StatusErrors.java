package dev.baton.core.control;

import dev.baton.core.BatonException;
import dev.baton.core.BatonTimeoutException;
import dev.baton.core.SwitchActiveFailedException;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;

/**
 * Maps what a {@link dev.baton.core.BatonNode} throws to gRPC statuses, and tells a client whether
 * a failed write is known not to have been applied (and, for a refused watch, from which revision
 * it can replay).
 *
 * <p>The split that matters for safe retries: UNAVAILABLE (with the {@code baton-applied: false}
 * trailer) means the server knows nothing was applied; DEADLINE_EXCEEDED and UNKNOWN mean a write
 * may have been applied, so a client must not blindly repeat it. ABORTED is a switch-active whose
 * target won the role and gave it up because its promotion plan failed: known, and not retried.
 */
final class StatusErrors {
  /** Trailer set on failures where the server knows that nothing was applied. */
  static final Metadata.Key<String> APPLIED =
      Metadata.Key.of("baton-applied", Metadata.ASCII_STRING_MARSHALLER);

  /** What kind of call failed: it decides what a timeout means. */
  enum Kind {
    /** Reads and status: nothing changes, a retry is always safe. */
    READ,
    /** KV writes and membership changes: a timeout leaves the outcome unknown. */
    WRITE
  }

  private StatusErrors() {}

  static StatusRuntimeException toStatus(String what, Kind kind, Throwable e) {
    if (e instanceof StatusRuntimeException s) {
      return s;
    }
    if (e instanceof IllegalArgumentException) {
      return notApplied(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
    }
    if (e instanceof IllegalStateException) {
      // BatonNode throws it when it is not started or already closed: nothing was submitted.
      return notApplied(
          Status.UNAVAILABLE.withDescription(what + ": node not serving: " + e.getMessage()));
    }
    if (e instanceof SwitchActiveFailedException) {
      // The outcome is known: the role moved to the target, whose promotion plan then failed.
      return Status.ABORTED.withDescription(e.getMessage()).asRuntimeException();
    }
    if (e instanceof BatonException) {
      boolean timeout = e instanceof BatonTimeoutException || hasCause(e, TimeoutException.class);
      if (kind == Kind.READ) {
        return notApplied(Status.UNAVAILABLE.withDescription(what + ": " + e.getMessage()));
      }
      if (timeout) {
        return Status.DEADLINE_EXCEEDED
            .withDescription(
                what + " timed out, it may or may not have been applied: " + e.getMessage())
            .asRuntimeException();
      }
      return Status.UNKNOWN
          .withDescription(what + " failed, it may or may not have been applied: " + e.getMessage())
          .asRuntimeException();
    }
    return Status.INTERNAL
        .withDescription(what + " failed: " + e)
        .withCause(e)
        .asRuntimeException();
  }

  static StatusRuntimeException notApplied(Status status) {
    Metadata trailers = new Metadata();
    trailers.put(APPLIED, "false");
    return status.asRuntimeException(trailers);
  }

  /**
   * Whether a failed call certainly did not change anything: the server said so, or the client
   * never reached a server (the connection could not be made, so the request was never sent).
   */
  static boolean knownNotApplied(StatusRuntimeException e) {
    Metadata trailers = e.getTrailers();
    if (trailers != null && "false".equals(trailers.get(APPLIED))) {
      return true;
    }
    return e.getStatus().getCode() == Status.Code.UNAVAILABLE
        && hasCause(e, ConnectException.class);
  }

  static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  /**
   * For a watch refused with OUT_OF_RANGE: the oldest revision the node can replay from, from the
   * {@link ControlStreams#OLDEST_REPLAYABLE} trailer; empty for any other failure.
   */
  static java.util.OptionalLong oldestReplayable(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof StatusRuntimeException s
          && s.getStatus().getCode() == Status.Code.OUT_OF_RANGE
          && s.getTrailers() != null) {
        String v = s.getTrailers().get(ControlStreams.OLDEST_REPLAYABLE);
        if (v != null) {
          try {
            return java.util.OptionalLong.of(Long.parseLong(v));
          } catch (NumberFormatException e) {
            return java.util.OptionalLong.empty();
          }
        }
      }
    }
    return java.util.OptionalLong.empty();
  }
}
