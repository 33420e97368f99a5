package dev.baton.core.control;

import dev.baton.core.BatonException;
import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/**
 * A control API call failed. {@link #code()} is the gRPC status code: PERMISSION_DENIED (not an
 * authorised client), UNAVAILABLE (no node could serve it; nothing was applied), DEADLINE_EXCEEDED
 * or UNKNOWN (a write whose outcome is unknown), and so on. The message names the call, the
 * endpoint that answered last, and the server's explanation.
 */
public class ControlException extends BatonException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final boolean knownNotApplied;

  ControlException(
      String message, Status.Code code, boolean knownNotApplied, @Nullable Throwable cause) {
    super(message, cause);
    this.code = code;
    this.knownNotApplied = knownNotApplied;
  }

  /** The gRPC status code of the last attempt. */
  public Status.Code code() {
    return code;
  }

  /** Whether the call certainly changed nothing (a write that may be retried as it is). */
  public boolean knownNotApplied() {
    return knownNotApplied;
  }
}
