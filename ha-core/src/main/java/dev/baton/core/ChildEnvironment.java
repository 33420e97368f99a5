package dev.baton.core;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The environment of every process Baton starts (an exec hook, a STONITH stop command, {@code
 * pg_rewind}, {@code pg_ctl}): the few variables a program needs to run, taken from this process,
 * and the names its caller passes on explicitly; never this process's whole environment.
 *
 * <p>Why an allow-list: a sidecar's environment holds its secrets when its file names them by
 * variable ({@code clusterSecretEnv}, a PostgreSQL {@code passwordEnv}, a TSIG {@code secretEnv}).
 * A child that inherited them would hand them on to everything it starts: after a {@code pg_rewind}
 * rejoin, the restarted postmaster and every backend would carry the cluster secret, which is a
 * root credential, readable in {@code /proc/<pid>/environ} by the {@code postgres} OS user and by
 * any database role with {@code pg_read_server_files}. A deny-list would miss the variable nobody
 * thought of; an allow-list cannot.
 */
public final class ChildEnvironment {
  /**
   * What a child inherits by default: what a shell and its tools need to find programs, a home, a
   * user name, a locale, a time zone and a temporary directory. Variables whose names start with
   * {@code LC_} (locale categories) are inherited too.
   */
  public static final Set<String> INHERITED =
      Set.of("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR");

  private ChildEnvironment() {}

  /**
   * Cuts {@code builder}'s environment (a copy of this process's) down to {@link #INHERITED}, the
   * {@code LC_*} variables and the names in {@code passOn}, and returns it for the caller to add
   * its own variables to.
   *
   * @param passOn further variables of this process to pass on, by name (a cloud credential's file,
   *     say); a name this process does not have is skipped
   */
  public static Map<String, String> restrict(ProcessBuilder builder, Collection<String> passOn) {
    Objects.requireNonNull(builder, "builder");
    Set<String> extra = Set.copyOf(passOn);
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(name -> !inherited(name) && !extra.contains(name));
    return env;
  }

  /** {@link #restrict(ProcessBuilder, Collection)} with nothing passed on beyond the defaults. */
  public static Map<String, String> restrict(ProcessBuilder builder) {
    return restrict(builder, List.of());
  }

  private static boolean inherited(String name) {
    return INHERITED.contains(name) || name.startsWith("LC_");
  }
}
