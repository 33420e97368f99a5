package dev.baton.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.sidecar.config.ConfigException;
import dev.baton.sidecar.config.ConfigLoader;
import dev.baton.sidecar.config.SidecarConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/systemd/}: the unit passes {@code systemd-analyze verify} (and the offline security
 * analysis) with nothing to say, restarts the watchdog's exit 70, keeps secrets in credentials; the
 * example config names exactly the credentials the unit loads, and the sidecar's own loader accepts
 * it.
 *
 * <p>How {@code systemd-analyze verify} runs here, with no systemd booted: it refuses a unit whose
 * {@code ExecStart} binary does not exist, and {@code /opt/baton} is not on this machine. So the
 * test builds a root directory: the unit under {@code etc/systemd/system}, an executable stub at
 * {@code opt/baton/bin/baton}, and the host's {@code *.target} units under {@code
 * usr/lib/systemd/system} (with {@code --root} verify resolves the unit's default dependencies,
 * {@code sysinit.target} and the others, inside that root, and fails without them). Verify exits 0
 * on an unknown key or a bad value (it only prints a warning), so any output is a failure.
 */
class SystemdUnitTest {
  static final Path SYSTEMD = Prerequisites.DEPLOY.resolve("systemd");
  static final Path UNIT = SYSTEMD.resolve("baton-sidecar.service");
  static final Path CONFIG = SYSTEMD.resolve("node.yaml");
  static final String CREDENTIALS = "/run/credentials/baton-sidecar.service/";

  @TempDir Path dir;

  @BeforeEach
  void needsSystemdAnalyze() {
    if (!Prerequisites.onPath("systemd-analyze")) {
      Prerequisites.missing(
          "SystemdUnitTest",
          "systemd-analyze is not on the PATH (Debian's systemd package; scripts/install-deps"
              + " installs it)");
    }
  }

  /** A root with the unit (its text given), the host's targets and, if asked, the stub binary. */
  private Path root(String unitText, boolean stub) throws IOException {
    Path root = dir.resolve("root-" + System.nanoTime());
    Path units = Files.createDirectories(root.resolve("etc/systemd/system"));
    Files.writeString(units.resolve("baton-sidecar.service"), unitText);
    Path targets = Files.createDirectories(root.resolve("usr/lib/systemd/system"));
    Path host =
        Files.isDirectory(Path.of("/usr/lib/systemd/system"))
            ? Path.of("/usr/lib/systemd/system")
            : Path.of("/lib/systemd/system");
    try (Stream<Path> files = Files.list(host)) {
      for (Path t : files.filter(p -> p.toString().endsWith(".target")).toList()) {
        Files.copy(t, targets.resolve(t.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    if (stub) {
      Path bin = Files.createDirectories(root.resolve("opt/baton/bin"));
      Files.writeString(bin.resolve("baton"), "#!/bin/sh\nexit 0\n");
      Files.setPosixFilePermissions(
          bin.resolve("baton"), PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    return root;
  }

  private Prerequisites.Run verify(Path root) throws Exception {
    return Prerequisites.run(
        List.of("systemd-analyze", "verify", "--root=" + root, "baton-sidecar.service"), dir, 60);
  }

  @Test
  void theUnitPassesSystemdAnalyzeVerifyWithNothingToSayAndItsExposureIsAtMostFour()
      throws Exception {
    Path root = root(Files.readString(UNIT), true);
    Prerequisites.Run verify = verify(root);
    assertThat(verify.exit()).as(verify.output()).isZero();
    assertThat(verify.output()).as("systemd-analyze verify printed warnings").isBlank();

    // The hardening, scored offline by systemd itself (0 = locked down, 10 = exposed; 3.4 today).
    // --threshold is in tenths: 40 fails the run above 4.0.
    Prerequisites.Run security =
        Prerequisites.run(
            List.of(
                "systemd-analyze",
                "security",
                "--offline=yes",
                "--threshold=40",
                "--no-pager",
                "--root=" + root,
                "baton-sidecar.service"),
            dir,
            60);
    assertThat(security.exit()).as(security.output()).isZero();
    assertThat(security.output()).contains("Overall exposure level for baton-sidecar.service");
    System.out.println(
        security
            .output()
            .lines()
            .filter(l -> l.contains("Overall exposure"))
            .findFirst()
            .orElse(""));
  }

  /** The check can fail: a misspelled key, a bad value, a missing binary are each reported. */
  @Test
  void verifyReportsAMisspelledKeyABadRestartValueAndAMissingBinary() throws Exception {
    String bad =
        Files.readString(UNIT)
            .replace("NoNewPrivileges=yes", "NoNewPrivilege=yes")
            .replace("Restart=on-failure", "Restart=on-falure");
    Prerequisites.Run r = verify(root(bad, true));
    assertThat(r.output())
        .contains("Unknown key 'NoNewPrivilege'")
        .contains("Failed to parse service restart specifier")
        .contains("on-falure");

    Prerequisites.Run noBinary = verify(root(Files.readString(UNIT), false));
    assertThat(noBinary.exit()).isNotZero();
    assertThat(noBinary.output()).contains("/opt/baton/bin/baton is not executable");
  }

  @Test
  void theUnitRestartsOnFailureRunsAsItsOwnUserAndKeepsSecretsOutOfTheEnvironment()
      throws Exception {
    List<String> lines =
        Files.readString(UNIT).lines().filter(l -> !l.startsWith("#") && !l.isBlank()).toList();
    assertThat(lines)
        .contains(
            "Restart=on-failure",
            "RestartPreventExitStatus=2",
            "User=baton",
            "StateDirectory=baton",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "ExecStart=/opt/baton/bin/baton sidecar --config /etc/baton/node.yaml");
    // The watchdog's exit 70 must count as a failure: no SuccessExitStatus may swallow it.
    assertThat(lines).noneMatch(l -> l.startsWith("SuccessExitStatus="));
    // No secret in the environment or on the command line: no Environment= at all but JAVA_HOME,
    // and the command line is only the config path.
    assertThat(lines)
        .filteredOn(l -> l.startsWith("Environment") || l.startsWith("PassEnvironment"))
        .isEmpty();
    assertThat(String.join("\n", lines)).doesNotContainIgnoringCase("secret=");
  }

  /** Each credential the config reads is one the unit loads, and the other way round. */
  @Test
  void theExampleConfigReadsExactlyTheCredentialsTheUnitLoads() throws Exception {
    Set<String> loaded = new TreeSet<>();
    Matcher m =
        Pattern.compile("(?m)^LoadCredential=([^:\\s]+):(/etc/baton/credentials/\\S+)$")
            .matcher(Files.readString(UNIT));
    while (m.find()) {
      loaded.add(m.group(1));
      assertThat(m.group(2)).endsWith("/" + m.group(1));
    }
    Set<String> read = new TreeSet<>();
    Matcher c =
        Pattern.compile(Pattern.quote(CREDENTIALS) + "([A-Za-z0-9._-]+)")
            .matcher(Files.readString(CONFIG));
    while (c.find()) {
      read.add(c.group(1));
    }
    assertThat(loaded).containsExactly("cluster.secret", "pg-password", "tsig.key");
    assertThat(read).isEqualTo(loaded);
  }

  /**
   * The example config, loaded by the sidecar's own {@link ConfigLoader} (what {@code bin/baton
   * sidecar --check} runs), with the credentials directory moved to a temporary one that holds
   * fresh test secrets; and the same file with one credential missing is refused, naming it.
   */
  @Test
  void theExampleConfigLoadsWithTheSidecarsOwnLoaderAndAMissingCredentialIsNamed()
      throws Exception {
    Path creds = Files.createDirectories(dir.resolve("credentials"));
    Files.writeString(creds.resolve("cluster.secret"), Prerequisites.randomSecret());
    Files.writeString(creds.resolve("pg-password"), "test-only-password\n");
    Files.writeString(creds.resolve("tsig.key"), Prerequisites.randomTsigKey());
    Path config = dir.resolve("node.yaml");
    Files.writeString(config, Files.readString(CONFIG).replace(CREDENTIALS, creds + "/"));

    SidecarConfig loaded = ConfigLoader.load(config);
    assertThat(loaded.nodeId()).isEqualTo("east-1");
    assertThat(loaded.dataDir()).isEqualTo(Path.of("/var/lib/baton/east-1"));
    assertThat(Files.exists(Path.of("/var/lib/baton/east-1"))).as("nothing created").isFalse();

    Files.delete(creds.resolve("tsig.key"));
    List<String> problems = new ArrayList<>();
    assertThatThrownBy(() -> ConfigLoader.load(config))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> problems.add(e.getMessage()));
    assertThat(problems.get(0)).contains("tsig.keyFile").contains("tsig.key");
  }
}
