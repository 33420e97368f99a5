package dev.baton.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The help of every command reads as wrapped paragraphs at 80 columns: no line ends where a word of
 * the next one would still have fitted. Before, picocli printed each source line of a description
 * as a line of its own and wrapped it again, so `baton help recover` came out ragged ("writes the
 * data directory of one member of a NEW" / "cluster").
 */
class HelpTextTest {

  @Test
  void linesThatContinueASentenceAreJoinedAndFormulasListsAndBlanksKeepTheirLines() {
    assertThat(
            HelpText.paragraphs(
                new String[] {
                  "Writes a directory of one member of a",
                  "NEW cluster, and holds a floor:",
                  "  floor = max(a, b) + margin",
                  "so the first token is above it.",
                  "- a list item",
                  "- another",
                  "",
                  "After a blank."
                }))
        .containsExactly(
            "Writes a directory of one member of a NEW cluster, and holds a floor:",
            "  floor = max(a, b) + margin",
            "so the first token is above it.",
            "- a list item",
            "- another",
            "",
            "After a blank.");
  }

  @Test
  void everyCommandsHelpIsWrappedAsParagraphs() {
    CommandLine root = BatonCommand.commandLine();
    List<String> ragged = new ArrayList<>();
    List<CommandLine> all = new ArrayList<>();
    collect(root, all);
    assertThat(all).hasSizeGreaterThan(10);
    for (CommandLine cl : all) {
      String usage = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
      ragged.addAll(raggedLines(cl.getCommandSpec().qualifiedName(), usage, 80));
    }
    assertThat(ragged)
        .as("lines that end before the width while the next word would fit")
        .isEmpty();
  }

  @Test
  void theRaggedCheckFindsALineThatEndsEarly() {
    assertThat(
            raggedLines(
                "x",
                "Recovery from a majority lost for good: writes the data directory of one member\n"
                    + "of a NEW\n"
                    + "cluster (new cluster id) from a copy.\n",
                80))
        .containsExactly("x: 'of a NEW' / 'cluster (new cluster id) from a copy.'");
  }

  private static void collect(CommandLine cl, List<CommandLine> into) {
    into.add(cl);
    cl.getSubcommands().values().forEach(sub -> collect(sub, into));
  }

  /**
   * Pairs of lines with the same indentation, in the same paragraph, where the first word of the
   * second would have fitted at the end of the first. A line ending in a colon, a line after which
   * an option or a list item starts, the synopsis, a lone word (a parameter's label) and the lists
   * of commands and exit statuses (one entry a line) are not paragraphs.
   */
  static List<String> raggedLines(String command, String usage, int width) {
    List<String> found = new ArrayList<>();
    String[] lines = usage.split("\n");
    boolean list = false;
    for (int i = 0; i + 1 < lines.length; i++) {
      String a = lines[i].stripTrailing();
      String b = lines[i + 1].stripTrailing();
      if (a.endsWith("Commands:") || a.endsWith("Exit status:")) {
        list = true;
      } else if (a.isEmpty()) {
        list = false;
      }
      if (list
          || a.isBlank()
          || b.isBlank()
          || a.endsWith(":")
          || a.strip().startsWith("Usage:")
          || !a.strip().contains(" ")) {
        continue;
      }
      int indent = a.length() - a.stripLeading().length();
      if (indent != b.length() - b.stripLeading().length()) {
        continue;
      }
      String next = b.strip();
      if (next.startsWith("-") || next.startsWith("Usage:")) {
        continue;
      }
      String word = next.split("\\s+")[0];
      // picocli keeps the last column free: a line holds at most width - 1 characters.
      if (a.length() + 1 + word.length() < width) {
        found.add(command + ": '" + a.strip() + "' / '" + next + "'");
      }
    }
    return found;
  }
}
