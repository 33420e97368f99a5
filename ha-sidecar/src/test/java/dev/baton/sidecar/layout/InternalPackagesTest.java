package dev.baton.sidecar.layout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.baton.sidecar.layout.InternalPackages.Reference;
import dev.baton.sidecar.layout.InternalPackages.Report;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No main class of one module names another module's {@code internal} package (issue 30): what a
 * {@code module-info.java} exporting only the API packages would enforce, were Baton buildable on
 * the module path (it is not, see {@link InternalPackages}). Tests may, only with a reason given
 * here.
 */
class InternalPackagesTest {
  private static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();

  /**
   * The tests of other modules that use ha-core's internals, each with why the API cannot do what
   * it does. An entry whose test no longer needs it fails {@link
   * #onlyTheTestsListedHereNameAnotherModulesInternalPackage}, so the list cannot go stale.
   */
  private static final Map<String, String> TESTS_THAT_NEED_INTERNALS =
      Map.of(
          "ha-sidecar/src/test/java/dev/baton/sidecar/SidecarSelfStopTest.java",
          "it forges a Raft log entry in a newer format than this release reads, as a newer"
              + " release's leader would replicate it: the entry's wire format (the Command"
              + " message, the format version) and the group id a cluster id maps to are the"
              + " replicated state's, deliberately not API",
          "ha-sidecar/src/test/java/dev/baton/sidecar/layout/InternalPackagesTest.java",
          "it names ha-core's internal package as data, to check that the scan finds it",
          "ha-control/src/test/java/dev/baton/core/control/ControlApiSurfaceTest.java",
          "it names ha-core's internal package as data, to check that no public signature of"
              + " the control API names a type in it",
          "testing/src/test/java/dev/baton/testing/api/ApiSurfaceTest.java",
          "it names ha-core's internal package as data, to check that no signature of the spi"
              + " names a type in it");

  @TempDir Path dir;

  @Test
  void noMainClassOfOneModuleNamesAnotherModulesInternalPackage() {
    Report report = new InternalPackages(REPOSITORY).scan();

    // Not vacuous: every module with main code is read, and ha-core's internals are known.
    assertThat(report.modules())
        .as("modules under %s", REPOSITORY)
        .contains(
            "ha-core",
            "ha-control",
            "testing",
            "ha-postgres-adapter",
            "ha-dns-adapter",
            "tests-linearizability/lincheck",
            "tests-linearizability/jepsen",
            "ha-sidecar",
            "examples",
            "benchmarks",
            "deploy");
    assertThat(report.internalPackages()).containsEntry("dev.baton.core.internal", "ha-core");
    assertThat(report.mainFiles()).isGreaterThan(200);
    assertThat(report.fromMain())
        .as(
            "main code naming another module's internal package (use its API package, or move"
                + " what it needs there)")
        .isEmpty();
  }

  @Test
  void onlyTheTestsListedHereNameAnotherModulesInternalPackage() {
    Report report = new InternalPackages(REPOSITORY).scan();

    assertThat(report.testFiles()).isGreaterThan(150);
    assertThat(new TreeSet<>(report.fromTests().stream().map(Reference::file).toList()))
        .as(
            "tests naming another module's internal package: use the API, or add the test to"
                + " TESTS_THAT_NEED_INTERNALS with the reason; found%n%s",
            String.join("\n", report.fromTests().stream().map(Reference::toString).toList()))
        .containsExactlyInAnyOrderElementsOf(TESTS_THAT_NEED_INTERNALS.keySet());
  }

  @Test
  void importsQualifiedNamesAndClassNamesInStringsAreReferencesButCommentsAreNot()
      throws IOException {
    write("a/src/main/java/org/a/Api.java", "package org.a;", "public class Api {}");
    write("a/src/main/java/org/a/internal/Impl.java", "package org.a.internal;", "class Impl {}");
    write(
        "a/src/main/proto/a.proto",
        "syntax = \"proto3\";",
        "option java_package = \"org.a.internal.proto\";");
    write(
        "a/src/main/java/org/a/Uses.java",
        "package org.a;",
        "import org.a.internal.Impl; // a module's own internals are its own",
        "class Uses {}");
    write("b/src/main/java/org/b/internal/Own.java", "package org.b.internal;", "class Own {}");
    write(
        "b/src/main/java/org/b/B.java",
        "package org.b;",
        "",
        "import org.a.Api;",
        "import org.a.internal.Impl;",
        "import static org.a.internal.proto.Msg.parseFrom;",
        "import org.a.internalish.NotInternal;",
        "import org.b.internal.Own;",
        "",
        "/** Not {@link org.a.internal.Impl}, not org.a.internal.proto.Msg. */",
        "class B {",
        "  // org.a.internal.Impl in a line comment",
        "  /* org.a.internal.Impl in a block comment */",
        "  Object x = new org.a.internal.proto.Msg();",
        "  Class<?> y = Class.forName(\"org.a.internal.Impl\");",
        "  String z = \"// not a comment\" + org.a.internal.Impl.NAME;",
        "  char q = '\"';",
        "  Object w = org.a.internal.Impl.class;",
        "}");
    write(
        "b/src/test/java/org/b/BTest.java",
        "package org.b;",
        "import org.a.internal.Impl;",
        "class BTest {}");

    Report report = new InternalPackages(dir).scan();

    assertThat(report.modules()).containsExactly("a", "b");
    assertThat(report.internalPackages())
        .containsExactlyInAnyOrderEntriesOf(Map.of("org.a.internal", "a", "org.b.internal", "b"));
    assertThat(report.fromMain())
        .extracting(Reference::file, Reference::line, Reference::internalPackage, Reference::owner)
        .containsExactly(
            tuple("b/src/main/java/org/b/B.java", 4, "org.a.internal", "a"),
            tuple("b/src/main/java/org/b/B.java", 5, "org.a.internal", "a"),
            tuple("b/src/main/java/org/b/B.java", 13, "org.a.internal", "a"),
            tuple("b/src/main/java/org/b/B.java", 14, "org.a.internal", "a"),
            tuple("b/src/main/java/org/b/B.java", 15, "org.a.internal", "a"),
            tuple("b/src/main/java/org/b/B.java", 17, "org.a.internal", "a"));
    assertThat(report.fromMain().get(0).toString())
        .isEqualTo(
            "b/src/main/java/org/b/B.java:4: import org.a.internal.Impl;  (org.a.internal is a's)");
    assertThat(report.fromTests())
        .extracting(Reference::file, Reference::line)
        .containsExactly(tuple("b/src/test/java/org/b/BTest.java", 2));
  }

  @Test
  void aBuildDirectoryIsNotAModule() throws IOException {
    write("a/src/main/java/org/a/internal/Impl.java", "package org.a.internal;", "class Impl {}");
    write(
        "a/target/copy/src/main/java/org/c/C.java",
        "package org.c;",
        "import org.a.internal.Impl;",
        "class C {}");

    Report report = new InternalPackages(dir).scan();

    assertThat(report.modules()).containsExactly("a");
    assertThat(report.fromMain()).isEmpty();
  }

  private void write(String path, String... lines) throws IOException {
    Path f = dir.resolve(path);
    Files.createDirectories(f.getParent());
    Files.writeString(f, String.join("\n", lines) + "\n");
  }
}
