package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.internal.proto.SwitchRequest;
import org.junit.jupiter.api.Test;

/** The switch-active attempt count and the term bar, apart from a cluster. */
class SwitchBookkeepingTest {
  private static SwitchRequest to(String target, String id) {
    return SwitchRequest.newBuilder().setTargetNodeId(target).setRequestId(id).build();
  }

  @Test
  void aRequestIsTakenAtMostMaxAttemptsTimesAndANewRequestStartsAgain() {
    SwitchBookkeeping b = new SwitchBookkeeping("n1");
    for (int i = 0; i < SwitchBookkeeping.MAX_SWITCH_ATTEMPTS; i++) {
      assertThat(b.open(to("n2", "r1"))).as("attempt %d open", i + 1).isTrue();
      assertThat(b.take(to("n2", "r1"))).as("attempt %d taken", i + 1).isTrue();
    }
    assertThat(b.open(to("n2", "r1"))).isFalse();
    assertThat(b.take(to("n2", "r1"))).isFalse();
    assertThat(b.take(to("n3", "r2"))).as("a new request id resets the count").isTrue();
  }

  @Test
  void noRequestOrOneForThisNodeIsNeverTaken() {
    SwitchBookkeeping b = new SwitchBookkeeping("n1");
    assertThat(b.take(SwitchRequest.getDefaultInstance())).isFalse();
    assertThat(b.take(to("n1", "r1"))).isFalse();
  }

  @Test
  void theBarCoversItsTermAndEarlierOnesAndOnlyGrows() {
    SwitchBookkeeping b = new SwitchBookkeeping("n1");
    assertThat(b.activationBarred(0)).isFalse();
    b.barActivationUpTo(7);
    assertThat(b.activationBarred(6)).isTrue();
    assertThat(b.activationBarred(7)).isTrue();
    assertThat(b.activationBarred(8)).isFalse();
    b.barActivationUpTo(3);
    assertThat(b.activationBarred(7)).as("a lower term does not lift the bar").isTrue();
  }
}
