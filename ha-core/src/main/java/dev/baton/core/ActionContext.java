package dev.baton.core;

/**
 * What a {@link PromotionAction} or {@link Fence} was told when it ran, before 0.3: the same
 * methods as {@link StepContext}, which it now extends ({@code ActionContext.Phase} is {@link
 * StepContext.Phase}).
 *
 * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link StepContext}, which {@link
 *     PromotionAction#promote(StepContext)}, {@link PromotionAction#demote(StepContext)} and {@link
 *     Fence#advance(long, StepContext)} take. An implementation of the old methods keeps running:
 *     the node hands it a view of its {@code StepContext}.
 */
@Deprecated(since = "0.3")
public interface ActionContext extends StepContext {}
