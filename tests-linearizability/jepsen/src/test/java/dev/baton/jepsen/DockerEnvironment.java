package dev.baton.jepsen;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;

/**
 * Makes sure a Docker engine answers and the node image exists, before a run.
 *
 * <p>Both are done by the repository's scripts, so that a developer can run them by hand: {@code
 * scripts/docker-up} (starts Debian's dockerd when no engine answers; needs root) and {@code
 * scripts/node-image} (builds the image once, cached by a hash of its inputs, and prints its name).
 *
 * <p>Where Docker cannot work the suite fails with the reason: a suite that cannot run proves
 * nothing. A developer without Docker opts out explicitly with {@code
 * -Djepsen.skip-without-docker=true}; the tests are then skipped and the reason is printed.
 */
final class DockerEnvironment {
  private static final Logger LOG = LoggerFactory.getLogger(DockerEnvironment.class);

  private static String image;
  private static String unavailable;

  private DockerEnvironment() {}

  /** The node image's name; builds it on first use. Fails or skips when Docker cannot work. */
  static synchronized String nodeImage() {
    if (image != null) {
      return image;
    }
    if (unavailable == null) {
      try {
        prepare();
      } catch (IOException | RuntimeException e) {
        unavailable = e.getMessage();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        unavailable = "interrupted while preparing Docker";
      }
    }
    if (unavailable != null) {
      String message = "the Jepsen-style suite needs Docker: " + unavailable;
      if (!Boolean.getBoolean("jepsen.skip-without-docker")) {
        throw new IllegalStateException(
            message + " (to skip these tests instead, pass -Djepsen.skip-without-docker=true)");
      }
      System.err.println("SKIPPED (jepsen.skip-without-docker=true): " + message);
      Assumptions.abort(message);
    }
    return image;
  }

  /** The repository's root (where {@code scripts/} is). */
  static Path repoRoot() {
    String configured = System.getProperty("baton.repo.root");
    if (configured != null) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("scripts/node-image"))) {
        return p;
      }
    }
    throw new IllegalStateException(
        "cannot find the repository root (scripts/node-image) from "
            + Path.of("").toAbsolutePath());
  }

  private static void prepare() throws IOException, InterruptedException {
    Path root = repoRoot();
    if (!engineAnswers()) {
      run(List.of("bash", root.resolve("scripts/docker-up").toString()), 180);
    }
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      throw new IllegalStateException(
          "Testcontainers finds no Docker engine (scripts/docker-up ran; see"
              + " /tmp/baton-dockerd.log)");
    }
    String out = run(List.of("bash", root.resolve("scripts/node-image").toString()), 1200);
    String[] lines = out.strip().split("\n");
    image = lines[lines.length - 1].strip();
    LOG.info("node image {}", image);
  }

  private static boolean engineAnswers() {
    try {
      Process p = new ProcessBuilder("docker", "info").redirectErrorStream(true).start();
      p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Runs a command; returns its stdout; its stderr goes to the log; fails on a non-zero exit. */
  static String run(List<String> command, long timeoutSeconds)
      throws IOException, InterruptedException {
    Path err = Files.createTempFile("jepsen-cmd", ".err");
    try {
      Process p =
          new ProcessBuilder(command)
              .redirectError(ProcessBuilder.Redirect.to(err.toFile()))
              .start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(
            String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
      }
      String stderr = Files.readString(err, StandardCharsets.UTF_8).strip();
      if (!stderr.isEmpty()) {
        LOG.info("{}: {}", command.get(command.size() - 1), stderr);
      }
      if (p.exitValue() != 0) {
        throw new IOException(
            String.join(" ", command)
                + " failed with exit status "
                + p.exitValue()
                + ": "
                + stderr);
      }
      return new String(out, StandardCharsets.UTF_8);
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
