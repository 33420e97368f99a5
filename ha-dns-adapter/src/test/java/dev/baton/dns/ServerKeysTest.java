package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.dns.AuthoritativeDnsServer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The test servers hold an update key for every algorithm the adapter signs with, and no other. */
class ServerKeysTest {

  @Test
  void theFixtureNamesEveryTsigAlgorithmOfTheAdapter() {
    assertThat(AuthoritativeDnsServer.ALGORITHMS)
        .containsExactly(
            Arrays.stream(TsigAlgorithm.values())
                .map(TsigAlgorithm::bindName)
                .toArray(String[]::new));
    assertThat(AuthoritativeDnsServer.DEFAULT_ALGORITHM)
        .isEqualTo(TsigAlgorithm.HMAC_SHA256.bindName());
  }
}
