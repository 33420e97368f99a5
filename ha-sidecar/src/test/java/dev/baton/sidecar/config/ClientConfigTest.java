package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.core.PromotionPlan;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A node file read by a client beside the node (the CLI with --config, pg-guard) on a host that has
 * the cluster secret and the PostgreSQL password but not the DNS step's TSIG key, as a PostgreSQL
 * host running pg-guard would.
 */
class ClientConfigTest {
  @TempDir Path dir;
  private Path file;

  @BeforeEach
  void aHostWithoutTheTsigKey() throws IOException {
    Files.writeString(
        dir.resolve("cluster.secret"), "dk1luKB+EGSoSJ0Cr9+p+ff5xVjaAG1WK4ghz5NdG5I=\n");
    Files.writeString(dir.resolve("pg-password"), "pg-password-of-the-guard\n");
    file = dir.resolve("node.yaml");
    Files.writeString(
        file,
        StepConfigTest.GOOD.replace(
            "checkInterval: 2s", "checkInterval: 2s\n        runIn: pg-guard"));
  }

  @Test
  void theSidecarNeedsTheTsigKeyAClientDoesNot() {
    assertThatThrownBy(() -> ConfigLoader.load(file))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("tsig.key");

    SidecarConfig c = ConfigLoader.loadAsClient(file);
    assertThat(c.plan().stages()).extracting(PromotionPlan.Stage::name).containsExactly("postgres");
    assertThat(c.services())
        .filteredOn(FormerPrimaryGuardService.class::isInstance)
        .singleElement()
        .satisfies(s -> assertThat(((FormerPrimaryGuardService) s).inSidecar()).isFalse());
  }

  @Test
  void aClientStillChecksTheKeysOfTheStepsItDoesNotBuild() throws IOException {
    Files.writeString(file, Files.readString(file).replace("    ttl: 10s", "    tll: 10s"));
    assertThatThrownBy(() -> ConfigLoader.loadAsClient(file))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("tll");
  }

  @Test
  void theCliWithConfigGetsPastTheFileOnSuchAHost() {
    // No endpoint answers, so the command fails, but on the cluster, not on the missing TSIG key.
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = dev.baton.sidecar.cli.BatonCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int status = cl.execute("status", "--config", file.toString(), "--timeout", "1s");
    assertThat(err.toString()).doesNotContain("tsig").doesNotContain("TSIG");
    assertThat(status).as(err.toString()).isNotEqualTo(0).isNotEqualTo(2);
  }
}
