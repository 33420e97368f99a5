package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FenceAgent} without Docker: the site's stop command (the real bash script, run as the
 * sidecar runs it, with the {@code BATON_*} variables) against the agent on loopback. A wrong
 * credential is refused, a server no site has is refused, and neither powers anything off; a file
 * that holds a credential fails the run's leak check.
 */
class FenceAgentTest {
  @TempDir Path dir;

  /** Runs the site's stop command with {@code /site} replaced by {@code site}. */
  private static Result stopCommand(Path site, String host) throws Exception {
    String script =
        Files.readString(site.resolve(FenceAgent.SCRIPT_FILE), StandardCharsets.UTF_8)
            .replace("/site/", site + "/");
    Path local = site.resolve("stonith-local.sh");
    Files.writeString(local, script);
    ProcessBuilder pb = new ProcessBuilder("bash", local.toString()).redirectErrorStream(true);
    pb.environment().put("BATON_PG_HOST", host);
    pb.environment().put("BATON_TOKEN", "42");
    pb.environment().put("BATON_NODE", "n2");
    Process p = pb.start();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes()));
  }

  record Result(int exit, String output) {}

  @Test
  void aServerNoSiteHasIsRefusedAndNothingIsPoweredOff() throws Exception {
    try (FenceAgent agent =
        new FenceAgent(null, "127.0.0.1", Map.of("10.0.0.11", "n1"), id -> "unused")) {
      Path n2 = Files.createDirectories(dir.resolve("n2"));
      agent.writeSiteFiles(n2, "n2");
      Result r = stopCommand(n2, "10.0.0.99");
      assertThat(r.exit()).as(r.output()).isEqualTo(1);
      assertThat(r.output()).contains("answered 404").contains("no site has the server 10.0.0.99");
      assertThat(agent.stops()).isEmpty();
      assertThat(agent.refused()).isZero();
    }
  }

  @Test
  void aWrongCredentialIsRefused() throws Exception {
    try (FenceAgent agent =
        new FenceAgent(null, "127.0.0.1", Map.of("10.0.0.11", "n1"), id -> "unused")) {
      Path n2 = Files.createDirectories(dir.resolve("n2"));
      agent.writeSiteFiles(n2, "n2");
      Path cred = n2.resolve(FenceAgent.CREDENTIAL_FILE);
      cred.toFile().setWritable(true, true);
      Files.writeString(cred, "not-the-credential\n");
      Result r = stopCommand(n2, "10.0.0.11");
      assertThat(r.exit()).as(r.output()).isEqualTo(1);
      assertThat(r.output()).contains("answered 403");
      assertThat(agent.stops()).isEmpty();
      assertThat(agent.refused()).isEqualTo(1);
    }
  }

  @Test
  void aFileThatHoldsACredentialFailsTheLeakCheck() throws IOException {
    try (FenceAgent agent = new FenceAgent(null, "127.0.0.1", Map.of(), id -> "unused")) {
      Path n1 = Files.createDirectories(dir.resolve("n1"));
      agent.writeSiteFiles(n1, "n1");
      Files.writeString(n1.resolve("sidecar.log"), "stop command ran\n");
      agent.assertCredentialsNotIn(dir);
      String credential = Files.readString(n1.resolve(FenceAgent.CREDENTIAL_FILE)).trim();
      assertThat(Files.readString(n1.resolve(FenceAgent.SCRIPT_FILE))).doesNotContain(credential);
      Files.writeString(n1.resolve("sidecar.log"), "Authorization: Bearer " + credential + "\n");
      assertThatThrownBy(() -> agent.assertCredentialsNotIn(dir))
          .hasMessageContaining("n1/sidecar.log holds n1's credential");
    }
  }
}
