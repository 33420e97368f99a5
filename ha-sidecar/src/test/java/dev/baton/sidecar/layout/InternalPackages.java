package dev.baton.sidecar.layout;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The rule a {@code module-info.java} would enforce if Baton could be compiled on the module path
 * (issue 30; it cannot: Ratis 3.3's {@code ratis-server} and {@code ratis-server-api} jars share
 * the package {@code org.apache.ratis.server} and four of its subpackages, which javac refuses as a
 * split package): the code of one Maven module never names another module's {@code internal}
 * package.
 *
 * <p>A module is every directory of the repository with a {@code src/main/java} or a {@code
 * src/test/java} (outside build output). Its internal packages are the packages of its {@code
 * src/main/java} whose last segment is {@code internal}, and the {@code java_package} of its {@code
 * src/main/proto} files cut after an {@code internal} segment (the generated {@code
 * dev.baton.core.internal.proto}); every package below one is internal too. A reference is the
 * package's name in a Java source with comments left out: an import, a static import, a fully
 * qualified name in code, or a class name in a string (what {@code Class.forName} would load). A
 * source scan, not a bytecode one, so that it covers every module of the repository from one test,
 * including the ones built after this one and the consumer project under {@code bom/src/it}.
 */
final class InternalPackages {
  /** One reference from a module's source to another module's internal package. */
  record Reference(String file, int line, String internalPackage, String owner, String text) {
    @Override
    public String toString() {
      return file + ":" + line + ": " + text + "  (" + internalPackage + " is " + owner + "'s)";
    }
  }

  /** What a scan found. */
  record Report(
      Set<String> modules,
      Map<String, String> internalPackages,
      int mainFiles,
      int testFiles,
      List<Reference> fromMain,
      List<Reference> fromTests) {}

  private static final Set<String> SKIPPED = Set.of("target", "node_modules", ".git", ".mvn");
  private static final Pattern JAVA_PACKAGE =
      Pattern.compile("option\\s+java_package\\s*=\\s*\"([\\w.]+)\"");

  private final Path repository;

  InternalPackages(Path repository) {
    this.repository = repository.toAbsolutePath().normalize();
  }

  Report scan() {
    Map<String, Path> modules = new TreeMap<>();
    for (Path dir : directories(repository)) {
      if (dir.endsWith("src/main/java") || dir.endsWith("src/test/java")) {
        Path module = dir.getParent().getParent().getParent();
        modules.put(name(module), module);
      }
    }
    Map<String, String> internal = new TreeMap<>();
    for (Map.Entry<String, Path> m : modules.entrySet()) {
      for (String p : internalPackagesOf(m.getValue())) {
        String before = internal.putIfAbsent(p, m.getKey());
        if (before != null && !before.equals(m.getKey())) {
          throw new IllegalStateException(
              "package " + p + " is in two modules, " + before + " and " + m.getKey());
        }
      }
    }
    List<Reference> fromMain = new ArrayList<>();
    List<Reference> fromTests = new ArrayList<>();
    int mainFiles = 0;
    int testFiles = 0;
    for (Map.Entry<String, Path> m : modules.entrySet()) {
      for (Path f : javaFiles(m.getValue().resolve("src/main/java"))) {
        mainFiles++;
        fromMain.addAll(references(f, m.getKey(), internal));
      }
      for (Path f : javaFiles(m.getValue().resolve("src/test/java"))) {
        testFiles++;
        fromTests.addAll(references(f, m.getKey(), internal));
      }
    }
    return new Report(
        new TreeSet<>(modules.keySet()), internal, mainFiles, testFiles, fromMain, fromTests);
  }

  private String name(Path module) {
    String n = repository.relativize(module).toString().replace('\\', '/');
    return n.isEmpty() ? "." : n;
  }

  private static Set<String> internalPackagesOf(Path module) {
    Set<String> found = new TreeSet<>();
    Path main = module.resolve("src/main/java");
    for (Path dir : directories(main)) {
      String pkg = main.relativize(dir).toString().replace('\\', '/').replace('/', '.');
      if (pkg.equals("internal") || pkg.endsWith(".internal")) {
        found.add(pkg);
      }
    }
    Path proto = module.resolve("src/main/proto");
    if (Files.isDirectory(proto)) {
      try (Stream<Path> s = Files.walk(proto)) {
        for (Path f : s.filter(p -> p.toString().endsWith(".proto")).toList()) {
          Matcher m = JAVA_PACKAGE.matcher(Files.readString(f));
          if (m.find()) {
            String pkg = m.group(1);
            int cut = (pkg + ".").indexOf(".internal.");
            if (pkg.startsWith("internal.")) {
              found.add("internal");
            } else if (cut >= 0) {
              found.add(pkg.substring(0, cut + ".internal".length()));
            }
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    // Only the outermost: a reference to dev.baton.core.internal.proto is one to
    // dev.baton.core.internal.
    found.removeIf(p -> found.stream().anyMatch(q -> p.startsWith(q + ".")));
    return found;
  }

  private List<Reference> references(Path file, String module, Map<String, String> internal) {
    String source;
    try {
      source = Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String code = withoutComments(source);
    List<Reference> refs = new ArrayList<>();
    for (Map.Entry<String, String> e : internal.entrySet()) {
      if (e.getValue().equals(module)) {
        continue;
      }
      Matcher m =
          Pattern.compile("(?<![\\w.$])" + Pattern.quote(e.getKey()) + "(?![\\w$])").matcher(code);
      while (m.find()) {
        int line = 1 + (int) code.substring(0, m.start()).chars().filter(c -> c == '\n').count();
        refs.add(
            new Reference(
                repository.relativize(file).toString().replace('\\', '/'),
                line,
                e.getKey(),
                e.getValue(),
                source.lines().skip(line - 1L).findFirst().orElse("").strip()));
      }
    }
    return refs;
  }

  /**
   * The source with every comment's characters but its line breaks replaced by spaces, so that
   * offsets and line numbers stay those of the file. String, character and text-block literals are
   * kept (a class name in a string is a reference).
   */
  static String withoutComments(String s) {
    StringBuilder b = new StringBuilder(s);
    int i = 0;
    int n = s.length();
    while (i < n) {
      char c = s.charAt(i);
      if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
        while (i < n && s.charAt(i) != '\n') {
          b.setCharAt(i++, ' ');
        }
      } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
        int end = s.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
        for (; i < end; i++) {
          if (s.charAt(i) != '\n') {
            b.setCharAt(i, ' ');
          }
        }
      } else if (s.startsWith("\"\"\"", i)) {
        i += 3;
        while (i < n && !s.startsWith("\"\"\"", i)) {
          i += s.charAt(i) == '\\' ? 2 : 1;
        }
        i += 3;
      } else if (c == '"' || c == '\'') {
        i++;
        while (i < n && s.charAt(i) != c && s.charAt(i) != '\n') {
          i += s.charAt(i) == '\\' ? 2 : 1;
        }
        i++;
      } else {
        i++;
      }
    }
    return b.toString();
  }

  /** Every directory under root, root included, not descending into build output or VCS data. */
  private static List<Path> directories(Path root) {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    List<Path> found = new ArrayList<>();
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
              if (!dir.equals(root) && SKIPPED.contains(dir.getFileName().toString())) {
                return FileVisitResult.SKIP_SUBTREE;
              }
              found.add(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    found.sort(null);
    return found;
  }

  private static boolean skipped(Path relative) {
    for (Path part : relative) {
      if (SKIPPED.contains(part.toString())) {
        return true;
      }
    }
    return false;
  }

  private static List<Path> javaFiles(Path root) {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(p -> p.toString().endsWith(".java") && Files.isRegularFile(p))
          .filter(p -> !skipped(root.relativize(p)))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
