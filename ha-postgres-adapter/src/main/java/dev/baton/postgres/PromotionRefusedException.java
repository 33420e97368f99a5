package dev.baton.postgres;

import dev.baton.core.BatonException;

/**
 * The promotion action refused to promote, on purpose, to protect data: the standby lags more than
 * the configured bound, or the server to promote is a former primary that has not been rejoined.
 * Retrying may succeed once the condition clears (the standby catches up; the server is rewound).
 */
public class PromotionRefusedException extends BatonException {
  private static final long serialVersionUID = 1L;

  public PromotionRefusedException(String message) {
    super(message);
  }
}
