package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The command line's own answers: help that lists what the sidecar serves, and a verb that does not
 * exist refused with exit status 2, so a script can tell a missing command from a present one.
 */
class CliTest {
  @Test
  void sidecarHelpListsEveryHttpEndpointTokenIncluded() {
    SidecarProcessTest.Cli help = SidecarProcessTest.cli("sidecar", "--help");
    assertThat(help.status()).isZero();
    String text = help.out().replaceAll("\\s+", " ");
    assertThat(text)
        .contains("/active")
        .contains("/health")
        .contains("/status")
        .contains("/metrics")
        .contains("/token (the token and the lease left, to callers on this machine's loopback");
  }
}
