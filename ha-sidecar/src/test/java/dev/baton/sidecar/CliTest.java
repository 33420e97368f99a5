package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line's own answers: help that lists what the sidecar serves, and a verb that does not
 * exist refused with exit status 2, so a script can tell a missing command from a present one.
 */
class CliTest {
  private static final String COMMANDS =
      "commands: sidecar, status, switch-active, step-down, maintenance, members, history, kv, watch, recover, pg-guard, demo, help";

  @TempDir Path dir;

  @Test
  void sidecarHelpListsEveryHttpEndpointTokenIncluded() {
    SidecarProcessTest.Cli help = SidecarProcessTest.cli("sidecar", "--help");
    assertThat(help.status()).isZero();
    String text = help.out().replaceAll("\\s+", " ");
    assertThat(text)
        .contains("/active")
        .contains("/health")
        .contains("/status")
        .contains("/history")
        .contains("/metrics")
        .contains("/token (the token and the lease left, to callers on this machine's loopback");
  }

  @Test
  void anUnknownVerbExitsWithStatus2AndSaysSoWithOrWithoutHelp() {
    for (String[] args :
        new String[][] {
          {"frobnicate", "--help"},
          {"frobnicate"},
          {"frobnicate", "--config", "x.yaml"},
          {"--help", "frobnicate"}
        }) {
      SidecarProcessTest.Cli r = SidecarProcessTest.cli(args);
      String what = String.join(" ", args) + "\nout: " + r.out() + "\nerr: " + r.err();
      assertThat(r.status()).as(what).isEqualTo(2);
      assertThat(r.err()).as(what).contains("unknown command 'frobnicate'").contains(COMMANDS);
      assertThat(r.out()).as(what + ": no usage on stdout, as if it had worked").isEmpty();
    }
    // An unknown verb under a command that has verbs is named with its parent.
    SidecarProcessTest.Cli kv = SidecarProcessTest.cli("kv", "frob", "--help");
    assertThat(kv.status()).as(kv.err()).isEqualTo(2);
    assertThat(kv.err()).contains("unknown command 'frob' for 'baton kv'").contains("commands: ");
    // A known verb's help still exits 0; a bad option is still a usage error.
    assertThat(SidecarProcessTest.cli("--help").status()).isZero();
    assertThat(SidecarProcessTest.cli("status", "--help").status()).isZero();
    assertThat(SidecarProcessTest.cli("status", "--frob").status()).isEqualTo(2);
  }

  /** Issue 37: a bad argument to maintenance is a usage error that names it, before any call. */
  @Test
  void maintenanceRefusesAnythingButOnOrOffWithStatus2NamingIt() {
    SidecarProcessTest.Cli maybe =
        SidecarProcessTest.cli("maintenance", "maybe", "--endpoints", "127.0.0.1:1");
    assertThat(maybe.status()).as(maybe.err()).isEqualTo(2);
    assertThat(maybe.err()).contains("'maybe' is neither on nor off");
    SidecarProcessTest.Cli none = SidecarProcessTest.cli("maintenance");
    assertThat(none.status()).as(none.err()).isEqualTo(2);
    assertThat(none.err()).contains("on|off");
    SidecarProcessTest.Cli help = SidecarProcessTest.cli("maintenance", "--help");
    assertThat(help.status()).isZero();
    assertThat(help.out().replaceAll("\\s+", " "))
        .contains("A planned switch-active or step-down still works")
        .contains("--reason");
  }

  /**
   * Issue 37, bad input: a --prefix the watch does not take (a pattern, which would match nothing
   * and print nothing) is refused with status 2, naming it and what to give instead.
   */
  @Test
  void watchRefusesAPrefixItDoesNotTakeNamingIt() {
    SidecarProcessTest.Cli glob =
        SidecarProcessTest.cli("watch", "--prefix", "app/*", "--endpoints", "127.0.0.1:1");
    assertThat(glob.status()).as(glob.err()).isEqualTo(2);
    assertThat(glob.err())
        .contains(
            "watch: --prefix 'app/*' is a pattern, but the prefix is matched literally: the keys"
                + " that start with 'app/' are watched with --prefix 'app/'");
    SidecarProcessTest.Cli regex =
        SidecarProcessTest.cli("watch", "--prefix", "app/.*", "--endpoints", "127.0.0.1:1");
    assertThat(regex.status()).isEqualTo(2);
    assertThat(regex.err()).contains("--prefix 'app/.*' is a pattern").contains("--prefix 'app/'");
    SidecarProcessTest.Cli control =
        SidecarProcessTest.cli("watch", "--prefix", "app/\u0007", "--endpoints", "127.0.0.1:1");
    assertThat(control.status()).isEqualTo(2);
    assertThat(control.err()).contains("--prefix holds control character U+0007 at position 4");
  }

  @Test
  void theRealBinaryExitsWithStatus2OnAnUnknownVerb() throws Exception {
    Path log = dir.resolve("frobnicate.log");
    Process p = SidecarProcesses.launch(log, "frobnicate", "--help");
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(log);
    assertThat(p.exitValue()).as(out).isEqualTo(2);
    assertThat(out).contains("unknown command 'frobnicate'").contains(COMMANDS);
  }
}
