package dev.baton.testing.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The scan finds what it looks for: ha-core's spi takes the node ({@code dev.baton.core.BatonNode})
 * by design, so a scan that forbids the API package must report it; and the node's deprecated test
 * hook is listed with its release.
 */
class ApiSurfaceTest {

  @Test
  void aSignatureThatNamesAForbiddenPackageIsReported() {
    ApiSurface spi = ApiSurface.of(Set.of("dev.baton.core.spi"));

    assertThat(spi.visibleClasses()).isNotEmpty();
    assertThat(spi.signaturesNaming(pkg -> pkg.equals("dev.baton.core")))
        .contains(
            "dev.baton.core.spi.TestSupport.crash(dev.baton.core.BatonNode) names"
                + " dev.baton.core.BatonNode");
    assertThat(spi.signaturesNaming(pkg -> pkg.startsWith("dev.baton.core.internal"))).isEmpty();
  }

  @Test
  void aDeprecatedMemberIsListedWithItsRelease() {
    assertThat(ApiSurface.of(Set.of("dev.baton.core")).deprecated())
        .contains(new ApiSurface.Deprecation("dev.baton.core.BatonNode.crashForTesting()", "0.3"));
  }
}
