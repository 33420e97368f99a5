package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * ha-core's API packages ({@code dev.baton.core}, {@code dev.baton.core.control}) neither take nor
 * return anything from {@code dev.baton.core.internal}: what a caller can see of a public class
 * names API types only, so the other modules (whose main classes {@code testing.InternalBoundary}
 * keeps out of the internals) never need an internal type to call it.
 */
class ApiSurfaceTest {
  private static final Set<String> API = Set.of("dev.baton.core", "dev.baton.core.control");

  @Test
  void publicSignaturesOfTheApiPackagesNameNoInternalType() {
    JavaClasses classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(API.toArray(String[]::new));
    List<String> leaks = new ArrayList<>();
    int seen = 0;
    for (JavaClass c : classes) {
      if (!API.contains(c.getPackageName()) || !visible(c)) {
        continue;
      }
      seen++;
      for (JavaCodeUnit unit : c.getCodeUnits()) {
        if (!unit.getModifiers().contains(JavaModifier.PUBLIC)
            && !unit.getModifiers().contains(JavaModifier.PROTECTED)) {
          continue;
        }
        Stream.concat(Stream.of(unit.getRawReturnType()), unit.getRawParameterTypes().stream())
            .filter(t -> t.getPackageName().startsWith("dev.baton.core.internal"))
            .forEach(t -> leaks.add(unit.getFullName() + " names " + t.getName()));
      }
      c.getFields().stream()
          .filter(f -> f.getModifiers().contains(JavaModifier.PUBLIC))
          .filter(f -> f.getRawType().getPackageName().startsWith("dev.baton.core.internal"))
          .forEach(f -> leaks.add(f.getFullName() + " is a " + f.getRawType().getName()));
    }
    assertThat(seen).as("public API classes found").isGreaterThan(20);
    assertThat(leaks).as("public API members that name an internal type").isEmpty();
  }

  /**
   * What the API packages deprecate, each with the release that did ({@code since}): a deprecation
   * is added to this list together with its line in CHANGELOG.md's release notes, and leaves it
   * with the removal (COMPATIBILITY.md, "Deprecation"). Its replacements (0.3: {@link StepContext}
   * and {@link ActivationInfo}, {@link PromotionPlan.Stage} and {@link PromotionPlan#stages()}) are
   * additions.
   */
  @Test
  void theDeprecatedApiIsTheListInTheReleaseNotesEachNamingItsRelease() {
    JavaClasses classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(API.toArray(String[]::new));
    List<String> deprecated = new ArrayList<>();
    for (JavaClass c : classes) {
      if (!API.contains(c.getPackageName()) || !visible(c)) {
        continue;
      }
      if (c.isAnnotatedWith(Deprecated.class)) {
        assertThat(c.getAnnotationOfType(Deprecated.class).since()).as(c.getName()).isNotEmpty();
        deprecated.add(c.getName());
      }
      for (JavaCodeUnit unit : c.getCodeUnits()) {
        if (unit.getModifiers().contains(JavaModifier.PUBLIC)
            && unit.isAnnotatedWith(Deprecated.class)) {
          assertThat(unit.getAnnotationOfType(Deprecated.class).since())
              .as(unit.getFullName())
              .isNotEmpty();
          deprecated.add(unit.getFullName());
        }
      }
    }
    assertThat(deprecated)
        .containsExactlyInAnyOrder(
            "dev.baton.core.ActionContext",
            "dev.baton.core.BatonNode.crashForTesting()",
            "dev.baton.core.Fence.advance(long, dev.baton.core.ActionContext)",
            "dev.baton.core.PromotionAction.promote(dev.baton.core.ActionContext)",
            "dev.baton.core.PromotionAction.demote(dev.baton.core.ActionContext)",
            "dev.baton.core.PromotionPlan$Step",
            "dev.baton.core.PromotionPlan.steps()");
  }

  /** Public, and nested only in public classes: a caller outside the package can name it. */
  private static boolean visible(JavaClass c) {
    for (JavaClass k = c; k != null; k = k.getEnclosingClass().orElse(null)) {
      if (!k.getModifiers().contains(JavaModifier.PUBLIC)) {
        return false;
      }
    }
    return true;
  }
}
