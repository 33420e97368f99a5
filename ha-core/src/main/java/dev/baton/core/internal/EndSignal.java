package dev.baton.core.internal;

import dev.baton.core.StandbyReason;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * An activation's end signal, paired with the activation: the role controller completes {@code
 * ended} when it gives that activation's role up, and every {@link ActivationContext} of it hands
 * out {@code view}. The read-only view is made once: each {@code minimalCompletionStage()}
 * registers a dependent on the future until it completes, and contexts are built on every {@code
 * activeContext()} call.
 */
record EndSignal(
    RoleController.@Nullable Activation activation,
    CompletableFuture<StandbyReason> ended,
    CompletionStage<StandbyReason> view) {
  EndSignal(
      RoleController.@Nullable Activation activation, CompletableFuture<StandbyReason> ended) {
    this(activation, ended, ended.minimalCompletionStage());
  }
}
