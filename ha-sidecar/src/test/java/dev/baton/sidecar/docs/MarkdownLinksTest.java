package dev.baton.sidecar.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.sidecar.docs.MarkdownLinks.Problem;
import dev.baton.sidecar.docs.MarkdownLinks.Report;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every relative link in the repository's Markdown resolves, anchors included; {@code
 * scripts/check-dist} runs the same {@link MarkdownLinks} over the unpacked tarball.
 */
class MarkdownLinksTest {
  private static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();

  @TempDir Path dir;

  @Test
  void everyRelativeLinkInTheRepositorysMarkdownResolves() throws IOException {
    Report report = new MarkdownLinks(REPOSITORY, null).check();
    // Not vacuous: the README, docs/, docs/operations/ and the module READMEs are all read.
    assertThat(report.files()).as("Markdown files under %s", REPOSITORY).isGreaterThan(25);
    assertThat(report.links()).isGreaterThan(200);
    assertThat(report.problems())
        .as("broken links:%n%s", MarkdownLinks.describe(report, REPOSITORY))
        .isEmpty();
  }

  @Test
  void aBrokenLinkIsReportedWithItsFileLineLinkAndReason() throws IOException {
    Files.createDirectories(dir.resolve("docs"));
    Files.writeString(
        dir.resolve("docs/a.md"),
        String.join(
            "\n",
            "# Title",
            "See [b](b.md#b-heading), [t](#title) and [web](https://example.com/x#y).",
            "Bad [x](missing.md) and [y](b.md#nope) and [z](/abs.md) and [w](ftp://host/x).",
            "Not links: `[span](span.md)` and",
            "```",
            "[fenced](fenced.md)",
            "```",
            "[ref]: gone.md",
            "A link whose text [wraps onto",
            "the next line](wrapped.md) is a link.",
            ""));
    Files.writeString(dir.resolve("docs/b.md"), "# B heading\n## Nope-ish\n");

    Report report = new MarkdownLinks(dir, null).check();

    assertThat(report.problems())
        .containsExactly(
            new Problem("docs/a.md", 3, "missing.md", "no such file: docs/missing.md"),
            new Problem(
                "docs/a.md",
                3,
                "b.md#nope",
                "no heading with anchor '#nope' in docs/b.md (closest: '#nope-ish')"),
            new Problem(
                "docs/a.md",
                3,
                "/abs.md",
                "an absolute path: use a path relative to docs/a.md instead"),
            new Problem("docs/a.md", 3, "ftp://host/x", "scheme 'ftp:' (only http, https, mailto)"),
            new Problem("docs/a.md", 8, "gone.md", "no such file: docs/gone.md"),
            new Problem("docs/a.md", 10, "wrapped.md", "no such file: docs/wrapped.md"));
    assertThat(report.problems().get(0).toString())
        .isEqualTo("docs/a.md:3: (missing.md): no such file: docs/missing.md");
  }

  @Test
  void anchorsFollowGithubsSlugRules() {
    assertThat(MarkdownLinks.slug("The time-bound (version 3)"))
        .isEqualTo("the-time-bound-version-3");
    assertThat(MarkdownLinks.slug("Jepsen's semantics and the differences"))
        .isEqualTo("jepsens-semantics-and-the-differences");
    assertThat(MarkdownLinks.slug("Health checks (`health`)")).isEqualTo("health-checks-health");
    assertThat(MarkdownLinks.slug("`--check` and **bold** [link](x.md)"))
        .isEqualTo("--check-and-bold-link");
    assertThat(MarkdownLinks.slug("fence_lease and _emphasis_"))
        .isEqualTo("fence_lease-and-emphasis");
    assertThat(
            MarkdownLinks.headingAnchors(
                java.util.List.of(
                    "# Dup", "```", "# not a heading", "```", "## Dup ##", "### Dup")))
        .containsExactly("dup", "dup-1", "dup-2");
  }

  @Test
  void inTheTarballALinkToARepositoryOnlySourceFileIsReportedNotFailed() throws IOException {
    Path repo = dir.resolve("repo");
    Path tarball = dir.resolve("tarball");
    Files.createDirectories(repo.resolve("ha-core/src/test/java"));
    Files.writeString(repo.resolve("ha-core/src/test/java/T.java"), "class T {}\n");
    Files.writeString(repo.resolve("ha-core/README.md"), "# Core\n");
    Files.createDirectories(tarball.resolve("docs"));
    Files.writeString(
        tarball.resolve("docs/x.md"),
        "[test](../ha-core/src/test/java/T.java) and [core](../ha-core/README.md)\n");

    Report report = new MarkdownLinks(tarball, repo).check();

    assertThat(report.notShipped())
        .containsExactly(
            new MarkdownLinks.NotShipped(
                "docs/x.md", 1, "../ha-core/src/test/java/T.java", "ha-core/src/test/java/T.java"));
    assertThat(report.problems())
        .containsExactly(
            new Problem(
                "docs/x.md",
                1,
                "../ha-core/README.md",
                "no such file: ha-core/README.md (the repository has it, the tarball does not ship"
                    + " it)"));
    assertThat(MarkdownLinks.describe(report, tarball))
        .contains("not shipped (source, test and build-script files, in the repository only): 1")
        .contains("ha-core/src/test/java/T.java (1)");
  }
}
