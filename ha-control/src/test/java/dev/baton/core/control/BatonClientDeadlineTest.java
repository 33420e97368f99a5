package dev.baton.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A call whose deadline passes before its first attempt (a call timeout under a millisecond) fails
 * with a {@link ControlException} that says so, not with a NullPointerException from the loop's
 * last error, which no attempt set. No server is needed: nothing is sent.
 */
class BatonClientDeadlineTest {

  @Test
  void aDeadlineThatPassesBeforeTheFirstAttemptIsDeadlineExceededAndNotApplied() {
    try (BatonClient client =
        BatonClient.builder().endpoints("127.0.0.1:1").callTimeout(Duration.ofNanos(1)).build()) {
      assertThatThrownBy(() -> client.get("k"))
          .isInstanceOfSatisfying(
              ControlException.class,
              e -> {
                assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
                assertThat(e.knownNotApplied()).isTrue();
                assertThat(e.getMessage())
                    .isEqualTo("kv get 'k' gave up after 0 ms, before a first attempt");
              });
    }
  }
}
