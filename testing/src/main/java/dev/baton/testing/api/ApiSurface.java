package dev.baton.testing.api;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * What a caller can see of a set of API packages, read from their compiled main classes (ArchUnit,
 * tests left out): the scan behind ha-core's {@code ApiSurfaceTest} and ha-control's {@code
 * ControlApiSurfaceTest}, one copy for both. Needs ArchUnit on the class path (an optional
 * dependency of this module).
 */
public final class ApiSurface {
  private final Set<String> packages;
  private final JavaClasses classes;

  private ApiSurface(Set<String> packages) {
    this.packages = Set.copyOf(packages);
    this.classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(this.packages.toArray(String[]::new));
  }

  /** The main classes of {@code packages} (and, as ArchUnit imports them, their subpackages). */
  public static ApiSurface of(Set<String> packages) {
    return new ApiSurface(packages);
  }

  /** Every class imported, for a test's own checks. */
  public JavaClasses classes() {
    return classes;
  }

  /** The classes of the packages themselves (no subpackage) that a caller can name. */
  public List<JavaClass> visibleClasses() {
    List<JavaClass> visible = new ArrayList<>();
    for (JavaClass c : classes) {
      if (packages.contains(c.getPackageName()) && visible(c)) {
        visible.add(c);
      }
    }
    return visible;
  }

  /**
   * Each public or protected method or constructor, and each public field, of a {@linkplain
   * #visibleClasses visible class} whose return, parameter or field type is in a package that
   * {@code forbidden} picks: "{@code member} names {@code type}" (or "is a" for a field).
   */
  public List<String> signaturesNaming(Predicate<String> forbidden) {
    List<String> leaks = new ArrayList<>();
    for (JavaClass c : visibleClasses()) {
      for (JavaCodeUnit unit : c.getCodeUnits()) {
        if (!unit.getModifiers().contains(JavaModifier.PUBLIC)
            && !unit.getModifiers().contains(JavaModifier.PROTECTED)) {
          continue;
        }
        Stream.concat(Stream.of(unit.getRawReturnType()), unit.getRawParameterTypes().stream())
            .filter(t -> forbidden.test(t.getPackageName()))
            .forEach(t -> leaks.add(unit.getFullName() + " names " + t.getName()));
      }
      c.getFields().stream()
          .filter(f -> f.getModifiers().contains(JavaModifier.PUBLIC))
          .filter(f -> forbidden.test(f.getRawType().getPackageName()))
          .forEach(f -> leaks.add(f.getFullName() + " is a " + f.getRawType().getName()));
    }
    return leaks;
  }

  /** A deprecated class or public member, with its {@code @Deprecated(since)} (empty: none). */
  public record Deprecation(String name, String since) {}

  /** The visible classes, and the public members of visible classes, that are deprecated. */
  public List<Deprecation> deprecated() {
    List<Deprecation> deprecated = new ArrayList<>();
    for (JavaClass c : visibleClasses()) {
      if (c.isAnnotatedWith(Deprecated.class)) {
        deprecated.add(
            new Deprecation(c.getName(), c.getAnnotationOfType(Deprecated.class).since()));
      }
      for (JavaCodeUnit unit : c.getCodeUnits()) {
        if (unit.getModifiers().contains(JavaModifier.PUBLIC)
            && unit.isAnnotatedWith(Deprecated.class)) {
          deprecated.add(
              new Deprecation(
                  unit.getFullName(), unit.getAnnotationOfType(Deprecated.class).since()));
        }
      }
    }
    return deprecated;
  }

  /** Public, and nested only in public classes: a caller outside the package can name it. */
  public static boolean visible(JavaClass c) {
    for (JavaClass k = c; k != null; k = k.getEnclosingClass().orElse(null)) {
      if (!k.getModifiers().contains(JavaModifier.PUBLIC)) {
        return false;
      }
    }
    return true;
  }
}
