package dev.baton.core;

import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A switch-active whose outcome is known and is a failure: the old active gave the role up and the
 * target won it, but the target gave it up again before it became active, because a required step
 * of its promotion plan failed. Another node then takes the role, as after any failed promotion.
 * The message names the target, its token, and the step and error the journal recorded.
 */
public class SwitchActiveFailedException extends BatonException {
  private static final long serialVersionUID = 1L;

  private final String target;
  private final long token;
  private final @Nullable String step;
  private final @Nullable String error;

  public SwitchActiveFailedException(
      String target, long token, @Nullable String step, @Nullable String error) {
    super(
        "switch-active to "
            + target
            + ": it won the role with token "
            + token
            + " but gave it up before it became active"
            + (step == null
                ? ""
                : ": step '"
                    + step
                    + "' failed: "
                    + (error == null ? "(no error recorded)" : error)));
    this.target = target;
    this.token = token;
    this.step = step;
    this.error = error;
  }

  /** The node the role was to move to. */
  public String target() {
    return target;
  }

  /** The token the target won the role with and gave up. */
  public long token() {
    return token;
  }

  /** The promotion step that failed, as the journal recorded it (empty if none was recorded). */
  public Optional<String> failedStep() {
    return Optional.ofNullable(step);
  }

  /** The failed step's error, as the journal recorded it. */
  public Optional<String> error() {
    return Optional.ofNullable(error);
  }
}
