package dev.baton.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import dev.baton.testing.api.ApiSurface;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The control API's half of ha-core's {@code ApiSurfaceTest} (the package moved to ha-control,
 * issue 30): its public signatures name no type of {@code dev.baton.core.internal}, nor of {@code
 * dev.baton.core.spi} (the door through which this module reaches ha-core's internals, which is not
 * covered by the compatibility promise and so must not show through an API that is); its deprecated
 * API is exactly the control half of the release notes' list; and its Java client names no
 * generated message but in its deprecated forms.
 */
class ControlApiSurfaceTest {
  private static final String API = "dev.baton.core.control";

  private static JavaClasses mainClasses() {
    return ApiSurface.of(Set.of(API)).classes();
  }

  @Test
  void publicSignaturesNameNoInternalOrSpiType() {
    ApiSurface surface = ApiSurface.of(Set.of(API));
    int seen = surface.visibleClasses().size();
    List<String> leaks = surface.signaturesNaming(ControlApiSurfaceTest::notForTheApi);
    assertThat(seen).as("public control API classes found").isGreaterThanOrEqualTo(5);
    assertThat(leaks).as("public API members that name an internal or SPI type").isEmpty();
  }

  private static boolean notForTheApi(String pkg) {
    return pkg.startsWith("dev.baton.core.internal") || pkg.startsWith("dev.baton.core.spi");
  }

  /**
   * What this package deprecates, each with the release that did ({@code since}): with ha-core's
   * {@code ApiSurfaceTest} list, the release notes' list (COMPATIBILITY.md, "Deprecation").
   */
  @Test
  void theDeprecatedApiIsTheListInTheReleaseNotesEachNamingItsRelease() {
    List<ApiSurface.Deprecation> deprecations = ApiSurface.of(Set.of(API)).deprecated();
    for (ApiSurface.Deprecation d : deprecations) {
      assertThat(d.since()).as(d.name()).isNotEmpty();
    }
    List<String> deprecated = deprecations.stream().map(ApiSurface.Deprecation::name).toList();
    assertThat(deprecated)
        .containsExactlyInAnyOrder(
            "dev.baton.core.control.ControlServer$Builder.actionStates(java.util.function.Supplier)",
            "dev.baton.core.control.ControlServer.status()",
            "dev.baton.core.control.ControlServer.history()",
            "dev.baton.core.control.BatonClient.status()",
            "dev.baton.core.control.BatonClient.status(java.lang.String, java.time.Duration)",
            "dev.baton.core.control.BatonClient.members()",
            "dev.baton.core.control.BatonClient.addMember(dev.baton.core.Member)",
            "dev.baton.core.control.BatonClient.removeMember(java.lang.String)",
            "dev.baton.core.control.BatonClient.history()",
            "dev.baton.core.control.BatonClient.watchRole(java.lang.String,"
                + " java.util.function.Consumer, java.util.function.Consumer)",
            "dev.baton.core.control.BatonClient.watchKeys(java.lang.String, java.lang.String,"
                + " long, java.util.function.Consumer, java.util.function.Consumer)",
            "dev.baton.core.control.BatonClient.watchKeys(java.lang.String, java.lang.String,"
                + " long, boolean, java.util.function.Consumer, java.util.function.Consumer)");
  }

  /**
   * Issue 30: the control API's Java client answers and takes the library's records, never the
   * generated messages of {@code dev.baton.core.control.proto}, but in its forms deprecated since
   * 0.3 (kept until 0.4 at the earliest, COMPATIBILITY.md). Generic arguments count: a {@code
   * List<proto.Member>} or a {@code Consumer<proto.KvEvent>} names a message too.
   */
  @Test
  void theControlClientNamesNoGeneratedMessageButInItsDeprecatedForms() {
    JavaClass client = mainClasses().get(BatonClient.class);
    List<String> leaks = new ArrayList<>();
    List<String> deprecated = new ArrayList<>();
    for (java.lang.reflect.Method m : BatonClient.class.getMethods()) {
      if (m.getDeclaringClass() != BatonClient.class) {
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

  /**
   * Issue 30, the server's half: {@link ControlServer} and its builder answer and take the
   * library's records (the status as {@link StatusReport}, the history as activations, the steps as
   * {@link StatusReport.StepState}), never a generated message but in their forms deprecated since
   * 0.3.
   */
  @Test
  void theControlServerNamesNoGeneratedMessageButInItsDeprecatedForms() {
    List<String> leaks = new ArrayList<>();
    List<String> deprecated = new ArrayList<>();
    for (Class<?> type : List.of(ControlServer.class, ControlServer.Builder.class)) {
      for (java.lang.reflect.Method m : type.getMethods()) {
        if (m.getDeclaringClass() != type) {
          continue;
        }
        String signature = m.toGenericString();
        if (m.isAnnotationPresent(Deprecated.class)) {
          assertThat(m.getAnnotation(Deprecated.class).since()).as(signature).isEqualTo("0.3");
          deprecated.add(type.getSimpleName() + "." + m.getName());
        } else if (signature.contains("dev.baton.core.control.proto.")) {
          leaks.add(signature);
        }
      }
    }
    assertThat(leaks).as("public, not deprecated ControlServer methods naming a message").isEmpty();
    assertThat(deprecated)
        .containsExactlyInAnyOrder(
            "ControlServer.status", "ControlServer.history", "Builder.actionStates");
  }
}
