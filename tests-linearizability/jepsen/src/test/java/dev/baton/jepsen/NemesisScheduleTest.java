package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The nemesis's choice of the next fault: every configured kind first, whatever the deadline. */
class NemesisScheduleTest {
  private static final List<NemesisKind> KINDS =
      List.of(
          NemesisKind.SWITCH_ACTIVE, NemesisKind.MEMBERSHIP, NemesisKind.WIPE, NemesisKind.HEALTH);

  @Test
  void everyKindComesOnceBeforeAnyRepeatFromTheDrawnStart() {
    Set<NemesisKind> settled = EnumSet.noneOf(NemesisKind.class);
    Set<NemesisKind> tried = EnumSet.noneOf(NemesisKind.class);
    int next = 2;
    for (NemesisKind expected :
        List.of(
            NemesisKind.WIPE,
            NemesisKind.HEALTH,
            NemesisKind.SWITCH_ACTIVE,
            NemesisKind.MEMBERSHIP,
            NemesisKind.WIPE)) {
      NemesisKind k = Nemesis.nextKind(KINDS, next, settled, tried, true);
      assertThat(k).isEqualTo(expected);
      tried.add(k);
      settled.add(k);
      next = KINDS.indexOf(k) + 1;
    }
  }

  @Test
  void aKindNeverTriedIsStartedAfterTheDeadlineAndNothingElseIs() {
    Set<NemesisKind> settled = EnumSet.of(NemesisKind.HEALTH, NemesisKind.SWITCH_ACTIVE);
    Set<NemesisKind> tried = EnumSet.of(NemesisKind.HEALTH, NemesisKind.SWITCH_ACTIVE);
    // wipe was tried and skipped; membership never came up
    tried.add(NemesisKind.WIPE);
    assertThat(Nemesis.nextKind(KINDS, 0, settled, tried, false)).isEqualTo(NemesisKind.MEMBERSHIP);
    tried.add(NemesisKind.MEMBERSHIP);
    settled.add(NemesisKind.MEMBERSHIP);
    assertThat(Nemesis.nextKind(KINDS, 0, settled, tried, false)).isNull();
  }

  @Test
  void aSkippedKindIsTriedAgainBeforeTheDeadlineAfterTheKindsNeverTried() {
    Set<NemesisKind> settled = EnumSet.of(NemesisKind.HEALTH);
    Set<NemesisKind> tried = EnumSet.of(NemesisKind.HEALTH, NemesisKind.SWITCH_ACTIVE);
    // switch-active was skipped; membership and wipe never tried
    assertThat(Nemesis.nextKind(KINDS, 1, settled, tried, true)).isEqualTo(NemesisKind.MEMBERSHIP);
    tried.addAll(List.of(NemesisKind.MEMBERSHIP, NemesisKind.WIPE));
    settled.addAll(List.of(NemesisKind.MEMBERSHIP, NemesisKind.WIPE));
    assertThat(Nemesis.nextKind(KINDS, 0, settled, tried, true))
        .isEqualTo(NemesisKind.SWITCH_ACTIVE);
  }

  @Test
  void healthIsAKindOfItsOwnAndPartOfAll() {
    assertThat(NemesisKind.parse("health")).containsExactly(NemesisKind.HEALTH);
    assertThat(NemesisKind.HEALTH.wireName()).isEqualTo("health");
    assertThat(NemesisKind.parse("all")).contains(NemesisKind.HEALTH);
  }
}
