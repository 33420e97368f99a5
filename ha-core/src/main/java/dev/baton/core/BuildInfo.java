package dev.baton.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of Baton and the git commit it was built from, as the build recorded them. {@code
 * baton --version} prints them, and every node exports them as the {@code baton_build_info} metric.
 *
 * @param version the release, e.g. {@code 0.2.0}
 * @param commit the abbreviated git commit, with {@code -dirty} when the tree had uncommitted
 *     changes, or {@code unknown} for a build outside a git checkout
 */
public record BuildInfo(String version, String commit) {
  private static final BuildInfo CURRENT = load();

  /** This build's. */
  public static BuildInfo current() {
    return CURRENT;
  }

  private static BuildInfo load() {
    Properties p = new Properties();
    try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read dev/baton/core/build.properties", e);
    }
    String version = filled(p.getProperty("version"));
    String commit = filled(p.getProperty("commit"));
    if (!"unknown".equals(commit) && "true".equals(p.getProperty("dirty"))) {
      commit = commit + "-dirty";
    }
    return new BuildInfo(version, commit);
  }

  /** A value the build did not fill in (no git, a build outside Maven) is "unknown". */
  private static String filled(String v) {
    return v == null || v.isBlank() || v.startsWith("${") ? "unknown" : v;
  }

  @Override
  public String toString() {
    return version + " (commit " + commit + ")";
  }
}
