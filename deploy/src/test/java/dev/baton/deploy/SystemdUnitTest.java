package dev.baton.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.sidecar.config.ConfigException;
import dev.baton.sidecar.config.ConfigLoader;
import dev.baton.sidecar.config.FormerPrimaryGuardService;
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
  static final Path GUARD_UNIT = SYSTEMD.resolve("baton-pg-guard.service");
  static final Path CONFIG = SYSTEMD.resolve("node.yaml");
  static final String CREDENTIALS = "/run/credentials/baton-sidecar.service/";
  static final String GUARD_CREDENTIALS = "/run/credentials/baton-pg-guard.service/";

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
    return root("baton-sidecar.service", unitText, stub);
  }

  private Path root(String unitName, String unitText, boolean stub) throws IOException {
    Path root = dir.resolve("root-" + System.nanoTime());
    Path units = Files.createDirectories(root.resolve("etc/systemd/system"));
    Files.writeString(units.resolve(unitName), unitText);
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
    return verify(root, "baton-sidecar.service");
  }

  private Prerequisites.Run verify(Path root, String unitName) throws Exception {
    return Prerequisites.run(
        List.of("systemd-analyze", "verify", "--root=" + root, unitName), dir, 60);
  }

  private Prerequisites.Run security(Path root, String unitName) throws Exception {
    // 0 = locked down, 10 = exposed. --threshold is in tenths: 40 fails the run above 4.0.
    return Prerequisites.run(
        List.of(
            "systemd-analyze",
            "security",
            "--offline=yes",
            "--threshold=40",
            "--no-pager",
            "--root=" + root,
            unitName),
        dir,
        60);
  }

  @Test
  void theUnitPassesSystemdAnalyzeVerifyWithNothingToSayAndItsExposureIsAtMostFour()
      throws Exception {
    // The hardening, scored offline by systemd itself (3.4 today).
    verifiesCleanWithExposureAtMostFour(
        root(Files.readString(UNIT), true), "baton-sidecar.service");
  }

  /**
   * {@code systemd-analyze verify} of {@code unit} under {@code root} passes and prints nothing,
   * and {@code systemd-analyze security} scores it at most 4.0 (the score is printed).
   */
  private void verifiesCleanWithExposureAtMostFour(Path root, String unit) throws Exception {
    Prerequisites.Run verify = verify(root, unit);
    assertThat(verify.exit()).as(verify.output()).isZero();
    assertThat(verify.output()).as("systemd-analyze verify printed warnings").isBlank();
    Prerequisites.Run security = security(root, unit);
    assertThat(security.exit()).as(security.output()).isZero();
    assertThat(security.output()).contains("Overall exposure level for " + unit);
    System.out.println(
        security
            .output()
            .lines()
            .filter(l -> l.contains("Overall exposure"))
            .findFirst()
            .orElse(""));
  }

  /** The unit file's settings: its lines without comments and blank lines. */
  private static List<String> settings(Path unit) throws IOException {
    return Files.readString(unit).lines().filter(l -> !l.startsWith("#") && !l.isBlank()).toList();
  }

  /**
   * Restarts on failure but not on a configuration error (exit 2), treats no other exit as success
   * (the watchdog's 70 must count as a failure), and has no environment of its own.
   */
  private static void restartsOnFailureWithNoEnvironment(List<String> lines) {
    assertThat(lines).contains("Restart=on-failure", "RestartPreventExitStatus=2");
    assertThat(lines).noneMatch(l -> l.startsWith("SuccessExitStatus="));
    assertThat(lines)
        .filteredOn(l -> l.startsWith("Environment") || l.startsWith("PassEnvironment"))
        .isEmpty();
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
    List<String> lines = settings(UNIT);
    assertThat(lines)
        .contains(
            "User=baton",
            "StateDirectory=baton",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "ExecStart=/opt/baton/bin/baton sidecar --config /etc/baton/node.yaml");
    // No secret in the environment or on the command line: no Environment= at all, and the
    // command line is only the config path.
    restartsOnFailureWithNoEnvironment(lines);
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

  /**
   * {@code baton-pg-guard.service}, the guard's half of the split ({@code bin/baton pg-guard} on
   * the PostgreSQL host): verify says nothing, its exposure is at most 4.0, and a misspelled key in
   * it is reported (so the check can fail on this file too).
   */
  @Test
  void theGuardUnitPassesSystemdAnalyzeVerifyWithNothingToSayAndItsExposureIsAtMostFour()
      throws Exception {
    String unit = "baton-pg-guard.service";
    verifiesCleanWithExposureAtMostFour(root(unit, Files.readString(GUARD_UNIT), true), unit);

    String bad = Files.readString(GUARD_UNIT).replace("KillMode=process", "KillMod=process");
    assertThat(verify(root(unit, bad, true), unit).output()).contains("Unknown key 'KillMod'");
  }

  /**
   * The guard's unit runs {@code pg-guard} as the server's OS user, leaves a postmaster it started
   * running when it stops ({@code KillMode=process}), restarts on failure but not on a
   * configuration error, and keeps secrets out of the environment.
   */
  @Test
  void theGuardUnitRunsPgGuardAsThePostgresUserAndLeavesThePostmasterRunningWhenItStops()
      throws Exception {
    List<String> lines = settings(GUARD_UNIT);
    assertThat(lines)
        .contains(
            "User=postgres",
            "KillMode=process",
            "NoNewPrivileges=yes",
            "ExecStart=/opt/baton/bin/baton pg-guard --config /etc/baton/node.yaml");
    restartsOnFailureWithNoEnvironment(lines);
    // Its credentials are the sidecar's: the guard's copy of node.yaml reads the same names.
    // The guard needs the cluster secret and the PostgreSQL password, not the sidecar's TSIG key.
    assertThat(credentialsLoadedBy(GUARD_UNIT)).containsExactly("cluster.secret", "pg-password");
    assertThat(credentialsLoadedBy(UNIT)).containsAll(credentialsLoadedBy(GUARD_UNIT));
  }

  /**
   * The split, as the two units run it from one node file: the sidecar's {@code node.yaml} says
   * {@code runIn: pg-guard}, so the sidecar leaves the guard out; the guard's copy (credential
   * paths moved to its unit's directory, as README.md says) loads with the sidecar's own loader,
   * and its guard is the one {@code bin/baton pg-guard} runs, with {@code pg_rewind} from the
   * file's {@code binDirectory}.
   */
  @Test
  void theGuardsCopyOfTheNodeFileLoadsAndNamesAGuardThatRunsOutsideTheSidecar() throws Exception {
    Path creds = Files.createDirectories(dir.resolve("guard-credentials"));
    Files.writeString(creds.resolve("cluster.secret"), Prerequisites.randomSecret());
    Files.writeString(creds.resolve("pg-password"), "test-only-password\n");
    // No tsig.key: the guard's unit does not load it. README.md's sed: the sidecar unit's
    // credentials directory becomes the guard unit's.
    String guardCopy = Files.readString(CONFIG).replace(CREDENTIALS, GUARD_CREDENTIALS);
    assertThat(guardCopy).doesNotContain(CREDENTIALS).contains(GUARD_CREDENTIALS);
    Path config = dir.resolve("guard-node.yaml");
    Files.writeString(config, guardCopy.replace(GUARD_CREDENTIALS, creds + "/"));

    // As pg-guard loads it: the dns step's keys are checked, its TSIG key file is not read.
    SidecarConfig loaded = ConfigLoader.loadAsClient(config);
    List<FormerPrimaryGuardService> guards =
        loaded.services().stream()
            .filter(FormerPrimaryGuardService.class::isInstance)
            .map(FormerPrimaryGuardService.class::cast)
            .toList();
    assertThat(guards).hasSize(1);
    FormerPrimaryGuardService guard = guards.get(0);
    assertThat(guard.inSidecar()).as("runIn: pg-guard").isFalse();
    assertThat(guard.server().address()).isEqualTo("10.0.1.10:5432");
    assertThat(guard.rejoinTools())
        .extracting(FormerPrimaryGuardService.RejoinTool::path)
        .contains(Path.of("/usr/lib/postgresql/15/bin/pg_rewind"));
  }

  private static Set<String> credentialsLoadedBy(Path unit) throws IOException {
    Set<String> loaded = new TreeSet<>();
    Matcher m =
        Pattern.compile("(?m)^LoadCredential=([^:\\s]+):(/etc/baton/credentials/\\S+)$")
            .matcher(Files.readString(unit));
    while (m.find()) {
      loaded.add(m.group(1));
    }
    return loaded;
  }
}
