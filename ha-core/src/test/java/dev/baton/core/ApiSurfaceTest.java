package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.domain.JavaClass;
import dev.baton.testing.api.ApiSurface;
import dev.baton.testing.cluster.TestCluster;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ha-core's API package ({@code dev.baton.core}) neither takes nor returns anything from {@code
 * dev.baton.core.internal}: what a caller can see of a public class names API types only, so the
 * other modules (whose main classes ha-sidecar's {@code InternalPackagesTest} keeps out of the
 * internals) never need an internal type to call it. The same holds for {@code dev.baton.core.spi},
 * the door through which Baton's own modules (the control API, the testing module) reach what they
 * need of the internals: not API (no compatibility promise, no deprecation list), but it must not
 * hand out an internal type either, or it would be no door. The control API ({@code
 * dev.baton.core.control}) is in ha-control, with its half of these checks ({@code
 * ControlApiSurfaceTest} there): the two deprecated-API lists together are the release notes' list.
 * Both scan through baton-testing's {@code ApiSurface}.
 */
class ApiSurfaceTest {
  private static final Set<String> API = Set.of("dev.baton.core");

  /** For Baton's own modules only (its package-info): not covered by COMPATIBILITY.md. */
  private static final Set<String> SPI = Set.of("dev.baton.core.spi");

  @Test
  void publicSignaturesOfTheApiAndSpiPackagesNameNoInternalType() {
    Set<String> checked = new HashSet<>(API);
    checked.addAll(SPI);
    ApiSurface surface = ApiSurface.of(checked);
    List<JavaClass> visible = surface.visibleClasses();
    List<String> spiClasses =
        visible.stream()
            .filter(c -> SPI.contains(c.getPackageName()))
            .map(JavaClass::getSimpleName)
            .toList();
    int seen = visible.size();
    List<String> leaks = surface.signaturesNaming(pkg -> pkg.startsWith("dev.baton.core.internal"));
    assertThat(seen).as("public API classes found").isGreaterThan(20);
    assertThat(spiClasses).as("public SPI classes found").contains("ControlSupport", "TestSupport");
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
    List<ApiSurface.Deprecation> deprecations = ApiSurface.of(API).deprecated();
    for (ApiSurface.Deprecation d : deprecations) {
      assertThat(d.since()).as(d.name()).isNotEmpty();
    }
    List<String> deprecated = deprecations.stream().map(ApiSurface.Deprecation::name).toList();
    assertThat(deprecated)
        .containsExactlyInAnyOrder(
            "dev.baton.core.ActionContext",
            "dev.baton.core.BatonNode.crashForTesting()",
            "dev.baton.core.BatonNode.members()",
            "dev.baton.core.BatonNode.journal()",
            "dev.baton.core.BatonNode.history()",
            "dev.baton.core.BatonNode.switchActive(java.lang.String, java.time.Duration)",
            "dev.baton.core.BatonNode.stepDown(java.time.Duration)",
            "dev.baton.core.BatonNode.maintenance()",
            "dev.baton.core.BatonNode.maintenance(boolean, java.lang.String)",
            "dev.baton.core.BatonNode.addMember(dev.baton.core.Member)",
            "dev.baton.core.BatonNode.removeMember(java.lang.String)",
            "dev.baton.core.Fence.advance(long, dev.baton.core.ActionContext)",
            "dev.baton.core.PromotionAction.promote(dev.baton.core.ActionContext)",
            "dev.baton.core.PromotionAction.demote(dev.baton.core.ActionContext)",
            "dev.baton.core.PromotionPlan$Step",
            "dev.baton.core.PromotionPlan.steps()");
  }

  /**
   * Issue 30: what is cluster-wide (moving the role, the members, maintenance mode, the history and
   * the journal) is asked through {@link BatonNode#cluster()}. Each {@link Cluster} method is still
   * on the node with the same signature, deprecated since 0.3 and not yet marked for removal
   * (COMPATIBILITY.md, "Deprecation": removable in 0.4 at the earliest), until then.
   */
  @Test
  void everyClusterMethodKeepsADeprecatedTwinOnTheNode() throws NoSuchMethodException {
    assertThat(BatonNode.class.getMethod("cluster").getReturnType()).isEqualTo(Cluster.class);
    List<String> names = new ArrayList<>();
    for (Method m : Cluster.class.getMethods()) {
      Method twin = BatonNode.class.getMethod(m.getName(), m.getParameterTypes());
      assertThat(twin.getReturnType()).as(twin.toString()).isEqualTo(m.getReturnType());
      Deprecated d = twin.getAnnotation(Deprecated.class);
      assertThat(d).as(twin + " is deprecated").isNotNull();
      assertThat(d.since()).as(twin + " deprecated since").isEqualTo("0.3");
      assertThat(d.forRemoval()).as(twin + " forRemoval").isFalse();
      names.add(m.getName());
    }
    assertThat(names)
        .containsExactlyInAnyOrder(
            "switchActive",
            "stepDown",
            "members",
            "addMember",
            "removeMember",
            "maintenance",
            "maintenance",
            "history",
            "journal");
  }

  /**
   * The node's deprecated twins and its {@link Cluster} reach the same running parts: on a node not
   * started yet, each of them refuses alike, naming the node.
   */
  @Test
  void theDeprecatedTwinsAndTheClusterAnswerAlikeBeforeStart(@TempDir Path dir) throws Exception {
    BatonNode node =
        BatonNode.builder()
            .clusterId("c1")
            .nodeId("a")
            .members(Member.voter("a", "127.0.0.1:7001"), Member.voter("b", "127.0.0.1:7002"))
            .dataDir(dir.resolve("a"))
            .clusterSecret(TestCluster.newClusterSecret())
            .build();
    try {
      assertThat(node.cluster()).isSameAs(node.cluster());
      for (Method m : Cluster.class.getMethods()) {
        Object[] args = argumentsFor(m);
        Method twin = BatonNode.class.getMethod(m.getName(), m.getParameterTypes());
        for (Object target : List.of(node, node.cluster())) {
          Method call = target == node ? twin : m;
          assertThatThrownBy(
                  () -> {
                    try {
                      call.invoke(target, args);
                    } catch (InvocationTargetException e) {
                      throw e.getCause();
                    }
                  })
              .as(call.toString())
              .isInstanceOf(IllegalStateException.class)
              .hasMessage("node a is not started");
        }
      }
    } finally {
      node.close();
    }
  }

  private static Object[] argumentsFor(Method m) {
    Object[] args = new Object[m.getParameterCount()];
    Class<?>[] types = m.getParameterTypes();
    for (int i = 0; i < args.length; i++) {
      args[i] =
          types[i] == String.class
              ? "b"
              : types[i] == Duration.class
                  ? Duration.ofSeconds(1)
                  : types[i] == boolean.class
                      ? Boolean.TRUE
                      : types[i] == Member.class ? Member.voter("c", "127.0.0.1:7003") : null;
      assertThat(args[i]).as(m + " parameter " + i).isNotNull();
    }
    return args;
  }
}
