package dev.baton.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Kubernetes API schema validator: {@code kubernetes-models} and {@code
 * @kubernetes-models/validate} from npm, at the versions {@code src/test/js/package-lock.json}
 * pins (integrity hashes included), installed with {@code npm ci} once into a cache directory
 * outside the repository ({@code $BATON_NPM_CACHE}, default {@code ~/.cache/baton/npm}), in a
 * subdirectory named by the lock file's hash; later runs find it there and install nothing.
 */
final class SchemaValidator {
  static final Path JS = Prerequisites.DEPLOY.resolve("src/test/js");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Why the install failed in this JVM already: the next test reports it without retrying. */
  private static volatile String installFailure;

  private final Path nodeModules;

  private SchemaValidator(Path nodeModules) {
    this.nodeModules = nodeModules;
  }

  /** An object to validate and where it came from ({@code file#index kind/name}). */
  record Manifest(String ref, Map<String, Object> object) {}

  /** The outcome for one object. */
  record Result(String ref, boolean ok, String error) {}

  /**
   * Installs the validator if the cache does not hold it yet; a missing node or npm, or an npm
   * registry that cannot be reached, is {@link Prerequisites#missing} (fails under CI=true).
   */
  static SchemaValidator installed(String test) throws Exception {
    for (String tool : List.of("node", "npm")) {
      if (!Prerequisites.onPath(tool)) {
        Prerequisites.missing(
            test,
            tool
                + " is not on the PATH: the Kubernetes schema validator runs on Node.js"
                + " (scripts/install-deps installs nodejs and npm)");
      }
    }
    if (installFailure != null) {
      Prerequisites.missing(test, installFailure);
    }
    byte[] lock = Files.readAllBytes(JS.resolve("package-lock.json"));
    String hash =
        HexFormat.of()
            .formatHex(MessageDigest.getInstance("SHA-256").digest(lock))
            .substring(0, 16);
    String configured = System.getenv("BATON_NPM_CACHE");
    Path cache =
        configured != null && !configured.isBlank()
            ? Path.of(configured)
            : Path.of(System.getProperty("user.home"), ".cache", "baton", "npm");
    Path dir = Files.createDirectories(cache.resolve("k8s-validate-" + hash));
    Path marker = dir.resolve(".installed");
    // One installer at a time (two builds on one machine share the cache).
    try (FileChannel ch =
            FileChannel.open(
                cache.resolve("k8s-validate-" + hash + ".lock"),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock ignored = ch.lock()) {
      if (!Files.exists(marker)) {
        Files.copy(
            JS.resolve("package.json"),
            dir.resolve("package.json"),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.write(dir.resolve("package-lock.json"), lock);
        System.out.println(test + ": installing the schema validator with npm ci into " + dir);
        Prerequisites.Run npm =
            Prerequisites.run(
                List.of(
                    "npm",
                    "ci",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--prefer-offline",
                    "--fetch-retries=1",
                    "--fetch-timeout=30000"),
                dir,
                300);
        if (npm.exit() != 0) {
          List<String> lines = npm.output().lines().toList();
          String tail =
              String.join("\n", lines.subList(Math.max(0, lines.size() - 8), lines.size()));
          installFailure =
              "npm ci of kubernetes-models 5.1.0 and @kubernetes-models/validate 5.0.2 failed"
                  + " (is the npm registry reachable?) in "
                  + dir
                  + ":\n"
                  + tail;
          Prerequisites.missing(test, installFailure);
        }
        Files.writeString(marker, "installed from package-lock.json " + hash + "\n");
      }
    }
    return new SchemaValidator(dir.resolve("node_modules"));
  }

  /** Validates each object; one result per object, in order. */
  List<Result> validate(List<Manifest> manifests, Path work) throws Exception {
    List<Map<String, Object>> input = new ArrayList<>();
    for (Manifest m : manifests) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("ref", m.ref());
      entry.put("object", m.object());
      input.add(entry);
    }
    Path file = Files.createTempFile(work, "objects-", ".json");
    JSON.writeValue(file.toFile(), input);
    Prerequisites.Run run =
        Prerequisites.run(
            List.of(
                "node",
                JS.resolve("validate-manifests.mjs").toString(),
                nodeModules.toString(),
                file.toString()),
            work,
            120);
    if (run.exit() != 0) {
      throw new IOException("validate-manifests.mjs exited " + run.exit() + ":\n" + run.output());
    }
    List<Result> results = new ArrayList<>();
    for (String line : run.output().lines().toList()) {
      if (!line.startsWith("{")) {
        continue; // node's own warnings
      }
      JsonNode n = JSON.readTree(line);
      results.add(
          new Result(
              n.get("ref").asText(),
              n.get("ok").asBoolean(),
              n.has("error") ? n.get("error").asText() : null));
    }
    if (results.size() != manifests.size()) {
      throw new IOException(
          "validate-manifests.mjs answered for "
              + results.size()
              + " of "
              + manifests.size()
              + " objects:\n"
              + run.output());
    }
    return results;
  }
}
