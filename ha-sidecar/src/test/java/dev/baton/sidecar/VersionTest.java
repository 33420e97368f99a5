package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code baton --version} names the release and the git commit the build was made from. */
class VersionTest {

  @Test
  void versionPrintsTheReleaseAndTheCommitOfThisCheckout() throws Exception {
    Process git =
        new ProcessBuilder("git", "-C", "..", "rev-parse", "--short=12", "HEAD")
            .redirectErrorStream(true)
            .start();
    String head = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(git.waitFor(30, TimeUnit.SECONDS)).isTrue();
    // Built from a git checkout, the commit is HEAD's; from anything else, "unknown".
    String commit = git.exitValue() == 0 ? head : "unknown";

    SidecarProcessTest.Cli v = SidecarProcessTest.cli("--version");
    assertThat(v.status()).isZero();
    assertThat(v.out())
        .containsPattern("baton 0\\.2\\.0 \\(commit " + commit + "(-dirty)?\\)")
        .contains("Java 17");
  }
}
