package dev.baton.sidecar.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * A strict reader over SnakeYAML's node tree: every value is read through a key path, so every
 * problem can name the file, the line, the path and what is allowed. Problems are collected, not
 * thrown one at a time, so a user fixes the whole file in one pass.
 */
final class Yaml {

  private final Path file;
  private final List<String> problems = new ArrayList<>();
  // Environment variables the file names as holding a secret, and those it passes on to child
  // processes: checked against each other once the whole file is read (checkPassedOn).
  private final Set<String> secretVariables = new LinkedHashSet<>();
  private final List<PassedOn> passedOn = new ArrayList<>();

  private record PassedOn(Node at, String path, String name) {}

  Yaml(Path file) {
    this.file = file;
  }

  /** Parses the file; a syntax error is reported like any other problem. */
  Section root() {
    Node root;
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      root = new org.yaml.snakeyaml.Yaml(new LoaderOptions()).compose(r);
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
      problems.add(
          file + ":" + line + ": not valid YAML: " + e.getProblem() + " (" + e.getContext() + ")");
      return new Section("", null, false);
    } catch (YAMLException e) {
      problems.add(file + ": not valid YAML: " + e.getMessage());
      return new Section("", null, false);
    } catch (IOException e) {
      problems.add(file + ": cannot be read: " + e);
      return new Section("", null, false);
    }
    if (root == null) {
      problems.add(file + ": the file is empty; see docs/sidecar-config.md for the keys");
      return new Section("", null, false);
    }
    return section("", root);
  }

  Path file() {
    return file;
  }

  List<String> problems() {
    return problems;
  }

  /** Records that environment variable {@code name} holds a secret (clusterSecretEnv, say). */
  void secretVariable(String name) {
    secretVariables.add(name);
  }

  /**
   * Reports every variable passed on to a child process (an exec step's {@code passEnv}, a postgres
   * step's {@code stopCommandPassEnv}) that the file names as holding a secret: a secret never
   * reaches a child, however the file is written.
   */
  void checkPassedOn() {
    for (PassedOn p : passedOn) {
      if (secretVariables.contains(p.name())) {
        problem(
            p.at(),
            p.path(),
            p.name()
                + " holds a secret (this file names it as one), and a secret is never passed on to"
                + " a child process: remove it from the list");
      }
    }
  }

  void problem(Node at, String path, String message) {
    String where = at == null ? file.toString() : file + ":" + (at.getStartMark().getLine() + 1);
    String problem = where + ": " + (path.isEmpty() ? "" : path + ": ") + message;
    // A value read twice (a postgres health check's defaults come from the postgres step) is
    // reported once.
    if (!problems.contains(problem)) {
      problems.add(problem);
    }
  }

  private Section section(String path, Node node) {
    if (node instanceof MappingNode m) {
      return new Section(path, m, true);
    }
    problem(node, path, "must be a mapping of keys to values, found " + describe(node));
    return new Section(path, null, true);
  }

  private static String describe(Node n) {
    if (n instanceof ScalarNode s) {
      return "'" + s.getValue() + "'";
    }
    return n instanceof SequenceNode ? "a list" : "a mapping";
  }

  static String join(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  /** A mapping at a key path. An absent section answers every key as absent. */
  final class Section {
    private final String path;
    private final MappingNode node;
    private final Map<String, NodeTuple> entries = new LinkedHashMap<>();
    private final boolean present;

    private Section(String path, MappingNode node, boolean present) {
      this.path = path;
      this.node = node;
      this.present = present && node != null;
      if (node != null) {
        for (NodeTuple t : node.getValue()) {
          String key =
              t.getKeyNode() instanceof ScalarNode s ? s.getValue() : describe(t.getKeyNode());
          if (entries.put(key, t) != null) {
            problem(t.getKeyNode(), join(path, key), "appears twice; give each key once");
          }
        }
      }
    }

    String path() {
      return path;
    }

    Yaml yaml() {
      return Yaml.this;
    }

    Node node() {
      return node;
    }

    boolean present() {
      return present;
    }

    boolean has(String key) {
      NodeTuple t = entries.get(key);
      return t != null && !isNull(t.getValueNode());
    }

    /** The keys of this mapping, in file order. */
    Set<String> keys() {
      return java.util.Collections.unmodifiableSet(entries.keySet());
    }

    /** The node of {@code key} itself (not its value); the key must be in this mapping. */
    Node keyNode(String key) {
      return entries.get(key).getKeyNode();
    }

    /** Reports a problem at {@code key}'s value (or at this section when the key is absent). */
    void report(String key, String message) {
      problem(valueNode(key), join(path, key), message);
    }

    /** Reports every key that is not in {@code allowed}, listing the allowed ones. */
    void allow(String... allowed) {
      Set<String> ok = new LinkedHashSet<>(List.of(allowed));
      for (Map.Entry<String, NodeTuple> e : entries.entrySet()) {
        if (!ok.contains(e.getKey())) {
          problem(
              e.getValue().getKeyNode(),
              join(path, e.getKey()),
              "unknown key; allowed here: " + String.join(", ", ok));
        }
      }
    }

    Node valueNode(String key) {
      NodeTuple t = entries.get(key);
      return t == null ? node : t.getValueNode();
    }

    Optional<String> string(String key) {
      NodeTuple t = entries.get(key);
      if (t == null || isNull(t.getValueNode())) {
        return Optional.empty();
      }
      if (!(t.getValueNode() instanceof ScalarNode s)) {
        problem(
            t.getValueNode(),
            join(path, key),
            "must be a single value, found " + describe(t.getValueNode()));
        return Optional.empty();
      }
      if (s.getValue().isBlank()) {
        problem(s, join(path, key), "must not be empty");
        return Optional.empty();
      }
      return Optional.of(s.getValue());
    }

    String required(String key, String what) {
      Optional<String> v = string(key);
      if (v.isEmpty() && !entries.containsKey(key)) {
        problem(node, join(path, key), "is required: " + what);
      } else if (v.isEmpty() && isNull(entries.get(key).getValueNode())) {
        problem(entries.get(key).getKeyNode(), join(path, key), "must not be empty: " + what);
      }
      return v.orElse(null);
    }

    boolean bool(String key, boolean dflt) {
      Optional<String> v = string(key);
      if (v.isEmpty()) {
        return dflt;
      }
      if (v.get().equals("true") || v.get().equals("false")) {
        return Boolean.parseBoolean(v.get());
      }
      problem(
          valueNode(key), join(path, key), "'" + v.get() + "' is not allowed; use true or false");
      return dflt;
    }

    int integer(String key, int dflt, int min, int max) {
      Optional<String> v = string(key);
      if (v.isEmpty()) {
        return dflt;
      }
      try {
        int i = Integer.parseInt(v.get().trim());
        if (i < min || i > max) {
          problem(
              valueNode(key), join(path, key), i + " is outside the allowed " + min + ".." + max);
          return dflt;
        }
        return i;
      } catch (NumberFormatException e) {
        problem(
            valueNode(key),
            join(path, key),
            "'" + v.get() + "' is not a whole number; allowed " + min + ".." + max);
        return dflt;
      }
    }

    double decimal(String key, double dflt) {
      Optional<String> v = string(key);
      if (v.isEmpty()) {
        return dflt;
      }
      try {
        return Double.parseDouble(v.get().trim());
      } catch (NumberFormatException e) {
        problem(valueNode(key), join(path, key), "'" + v.get() + "' is not a number, e.g. 0.01");
        return dflt;
      }
    }

    Optional<Duration> duration(String key) {
      Optional<String> v = string(key);
      if (v.isEmpty()) {
        return Optional.empty();
      }
      Optional<Duration> d = Durations.parse(v.get());
      if (d.isEmpty()) {
        problem(
            valueNode(key),
            join(path, key),
            "'" + v.get() + "' is not a duration; " + Durations.GRAMMAR);
      }
      return d;
    }

    /** A {@code host:port} value; port 1..65535. */
    Optional<String> hostPort(String key) {
      Optional<String> v = string(key);
      if (v.isEmpty()) {
        return v;
      }
      String a = v.get().trim();
      int colon = a.lastIndexOf(':');
      String problem = null;
      if (colon <= 0 || colon == a.length() - 1) {
        problem = "expected host:port, e.g. 127.0.0.1:7400";
      } else {
        try {
          int port = Integer.parseInt(a.substring(colon + 1));
          if (port < 1 || port > 65535) {
            problem = "port " + port + " is outside 1..65535";
          }
        } catch (NumberFormatException e) {
          problem = "port '" + a.substring(colon + 1) + "' is not a number";
        }
      }
      if (problem != null) {
        problem(valueNode(key), join(path, key), "'" + a + "' is not an address: " + problem);
        return Optional.empty();
      }
      return Optional.of(a);
    }

    /** A string, or a list of strings. */
    Optional<List<String>> words(String key) {
      NodeTuple t = entries.get(key);
      if (t == null || isNull(t.getValueNode())) {
        return Optional.empty();
      }
      if (t.getValueNode() instanceof ScalarNode s) {
        return Optional.of(List.of(s.getValue()));
      }
      if (t.getValueNode() instanceof SequenceNode seq) {
        List<String> out = new ArrayList<>();
        int i = 0;
        for (Node n : seq.getValue()) {
          if (n instanceof ScalarNode s) {
            out.add(s.getValue());
          } else {
            problem(n, join(path, key) + "[" + i + "]", "must be a string, found " + describe(n));
          }
          i++;
        }
        if (out.isEmpty()) {
          problem(seq, join(path, key), "must not be an empty list");
          return Optional.empty();
        }
        return Optional.of(out);
      }
      problem(t.getValueNode(), join(path, key), "must be a string or a list of strings");
      return Optional.empty();
    }

    /** A nested mapping; absent → an empty section. */
    Section section(String key) {
      NodeTuple t = entries.get(key);
      if (t == null || isNull(t.getValueNode())) {
        return new Section(join(path, key), null, false);
      }
      return Yaml.this.section(join(path, key), t.getValueNode());
    }

    /** A list of mappings; absent → empty. */
    List<Section> sections(String key) {
      NodeTuple t = entries.get(key);
      if (t == null || isNull(t.getValueNode())) {
        return List.of();
      }
      if (!(t.getValueNode() instanceof SequenceNode seq)) {
        problem(
            t.getValueNode(),
            join(path, key),
            "must be a list (lines starting with '- '), found " + describe(t.getValueNode()));
        return List.of();
      }
      List<Section> out = new ArrayList<>();
      int i = 0;
      for (Node n : seq.getValue()) {
        out.add(Yaml.this.section(join(path, key) + "[" + i++ + "]", n));
      }
      return out;
    }

    /** A mapping of strings to strings. */
    Map<String, String> stringMap(String key) {
      Section s = section(key);
      Map<String, String> out = new LinkedHashMap<>();
      for (String k : s.entries.keySet()) {
        s.string(k).ifPresent(v -> out.put(k, v));
      }
      return out;
    }

    /**
     * Names of environment variables to pass on to a child process; each must be a variable name,
     * and none may be one the file names as holding a secret (checked at the end, {@link
     * Yaml#checkPassedOn}).
     */
    List<String> passEnv(String key) {
      List<String> names = strings(key);
      NodeTuple t = entries.get(key);
      List<String> out = new ArrayList<>();
      for (int i = 0; i < names.size(); i++) {
        String n = names.get(i);
        Node at = t.getValueNode() instanceof SequenceNode seq ? seq.getValue().get(i) : null;
        String where = join(path, key) + "[" + i + "]";
        if (!n.matches("[A-Za-z_][A-Za-z0-9_]*")) {
          problem(at, where, "'" + n + "' is not an environment variable name");
        } else {
          passedOn.add(new PassedOn(at, where, n));
          out.add(n);
        }
      }
      return out;
    }

    /** A list of strings. */
    List<String> strings(String key) {
      NodeTuple t = entries.get(key);
      if (t == null || isNull(t.getValueNode())) {
        return List.of();
      }
      if (!(t.getValueNode() instanceof SequenceNode seq)) {
        problem(t.getValueNode(), join(path, key), "must be a list of strings, e.g. [ops-admin]");
        return List.of();
      }
      List<String> out = new ArrayList<>();
      int i = 0;
      for (Node n : seq.getValue()) {
        if (n instanceof ScalarNode s && !s.getValue().isBlank()) {
          out.add(s.getValue());
        } else {
          problem(n, join(path, key) + "[" + i + "]", "must be a non-empty string");
        }
        i++;
      }
      return out;
    }
  }

  private static boolean isNull(Node n) {
    return n instanceof ScalarNode s && Tag.NULL.equals(s.getTag());
  }
}
