package dev.baton.sidecar.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Help that wraps each paragraph at the terminal's width. The descriptions are written as source
 * lines of up to about 90 characters; picocli printed each as a line of its own and wrapped it
 * again at 80, so the help came out ragged ("writes the data directory of one member of a NEW" /
 * "cluster"). Lines that continue a sentence are joined into one paragraph before picocli wraps it;
 * an indented line (a formula, an example), a list item, a blank line and the line after one ending
 * in a colon keep their own line.
 */
final class HelpText extends Help {

  HelpText(CommandSpec spec, ColorScheme scheme) {
    super(spec, scheme);
  }

  /** Installs the paragraph help on {@code cl} and every subcommand it has now. */
  static void install(CommandLine cl) {
    cl.setHelpFactory(HelpText::new);
  }

  /**
   * The command's description as paragraphs. The spec keeps its lines: the list of commands shows
   * each command's first line as its summary.
   */
  @Override
  public String description(Object... params) {
    return join(
            ansi(),
            commandSpec().usageMessage().width(),
            commandSpec().usageMessage().adjustLineBreaksForWideCJKCharacters(),
            paragraphs(commandSpec().usageMessage().description()),
            new StringBuilder(),
            params)
        .toString();
  }

  @Override
  public IOptionRenderer createDefaultOptionRenderer() {
    IOptionRenderer plain = super.createDefaultOptionRenderer();
    // Rebuilt only when a line was joined: a rebuilt spec loses picocli's interpolation of the
    // standard help options' names.
    return (option, labels, scheme) -> {
      String[] joined = paragraphs(option.description());
      return plain.render(
          joined.length == option.description().length
              ? option
              : option.toBuilder().description(joined).build(),
          labels,
          scheme);
    };
  }

  @Override
  public IParameterRenderer createDefaultParameterRenderer() {
    IParameterRenderer plain = super.createDefaultParameterRenderer();
    return (param, labels, scheme) -> {
      String[] joined = paragraphs(param.description());
      return plain.render(
          joined.length == param.description().length
              ? param
              : param.toBuilder().description(joined).build(),
          labels,
          scheme);
    };
  }

  /** Joins the lines of {@code lines} that continue a sentence; see the class comment. */
  static String[] paragraphs(String[] lines) {
    List<String> out = new ArrayList<>();
    for (String line : lines) {
      if (!out.isEmpty() && continues(out.get(out.size() - 1), line)) {
        out.set(out.size() - 1, out.get(out.size() - 1) + " " + line);
      } else {
        out.add(line);
      }
    }
    return out.toArray(String[]::new);
  }

  private static boolean continues(String previous, String line) {
    return !previous.isBlank()
        && !line.isBlank()
        && !Character.isWhitespace(previous.charAt(0))
        && !Character.isWhitespace(line.charAt(0))
        && !previous.endsWith(":")
        && !previous.endsWith("%n")
        && !line.startsWith("- ")
        && !line.startsWith("* ");
  }
}
