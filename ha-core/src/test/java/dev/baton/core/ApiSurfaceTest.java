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
   * Issue 30: the control API's Java client answers and takes the library's records, never the
   * generated messages of {@code dev.baton.core.control.proto}, but in its forms deprecated since
   * 0.3 (kept until 0.4 at the earliest, COMPATIBILITY.md). Generic arguments count: a {@code
   * List<proto.Member>} or a {@code Consumer<proto.KvEvent>} names a message too.
   */
  @Test
  void theControlClientNamesNoGeneratedMessageButInItsDeprecatedForms() {
    JavaClasses classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.baton.core.control");
    JavaClass client = classes.get(dev.baton.core.control.BatonClient.class);
    List<String> leaks = new ArrayList<>();
    List<String> deprecated = new ArrayList<>();
    for (java.lang.reflect.Method m : dev.baton.core.control.BatonClient.class.getMethods()) {
      if (m.getDeclaringClass() != dev.baton.core.control.BatonClient.class) {
        continue;
      }
      String signature = m.toGenericString();
      boolean namesMessage = signature.contains("dev.baton.core.control.proto.");
      if (m.isAnnotationPresent(Deprecated.class)) {
        assertThat(m.getAnnotation(Deprecated.class).since()).as(signature).isEqualTo("0.3");
        deprecated.add(m.getName());
      } else if (namesMessage) {
        leaks.add(signature);
      }
    }
    assertThat(client.getCodeUnits()).as("BatonClient imported").isNotEmpty();
    assertThat(leaks).as("public, not deprecated BatonClient methods naming a message").isEmpty();
    assertThat(deprecated)
        .containsExactlyInAnyOrder(
            "status",
            "status",
            "watchRole",
            "watchKeys",
            "watchKeys",
            "history",
            "members",
            "addMember",
            "removeMember");
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
