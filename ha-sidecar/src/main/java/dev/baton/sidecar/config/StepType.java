package dev.baton.sidecar.config;

import dev.baton.core.PromotionAction;
import java.util.List;
import java.util.Map;

/**
 * One kind of promotion step the sidecar's config can name with {@code type:}. A step type reads
 * its own keys (besides the common ones: name, type, required, timeout, maxAttempts, backoff,
 * maxBackoff) and builds the action.
 *
 * <p>To add a type (the Postgres and DNS adapters' actions, say): implement this interface with the
 * adapter's builder, and add it to {@link #KNOWN}. Nothing else in the loader changes.
 */
interface StepType {

  /** The value of {@code type:} that selects this step type. */
  String name();

  /** The keys this type reads, besides the common ones. */
  List<String> keys();

  /**
   * Builds the action from the step's section; reports problems through the section and returns
   * null when there are any.
   */
  PromotionAction build(String stepName, Yaml.Section step);

  /** Step types by name, in the order the error message lists them. */
  Map<String, StepType> KNOWN = Map.of(ExecStep.TYPE.name(), ExecStep.TYPE);

  /** Names that are reserved for step types still to come, so the message can say so. */
  List<String> COMING = List.of("postgres", "dns");
}
