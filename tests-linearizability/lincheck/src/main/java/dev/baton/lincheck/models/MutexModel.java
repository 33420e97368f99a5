package dev.baton.lincheck.models;

import dev.baton.lincheck.Model;
import dev.baton.lincheck.Operation;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A lock, as Knossos models it: {@code acquire} succeeds only when the lock is free and {@code
 * release} only when it is held. The state is whether the lock is held. (Which process holds it is
 * not tracked: Jepsen renumbers a process after a crash, so ownership is not visible in histories.)
 */
final class MutexModel implements Model<Boolean> {
  private final boolean initiallyLocked;

  MutexModel(boolean initiallyLocked) {
    this.initiallyLocked = initiallyLocked;
  }

  @Override
  public String name() {
    return "mutex";
  }

  @Override
  public Boolean initialState() {
    return initiallyLocked;
  }

  @Override
  public @Nullable Object partitionKey(Operation op) {
    return op.key();
  }

  @Override
  public List<Boolean> step(Boolean locked, Operation op) {
    return switch (op.f()) {
      case "acquire", "lock" -> locked ? List.of() : List.of(true);
      case "release", "unlock" -> locked ? List.of(false) : List.of();
      default -> throw new IllegalArgumentException("mutex has acquire, release; not " + op.f());
    };
  }

  @Override
  public String describe(Boolean locked) {
    return locked ? "held" : "free";
  }
}
