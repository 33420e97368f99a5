package dev.baton.sidecar.config;

import dev.baton.core.PromotionAction;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One kind of promotion step the sidecar's config can name with {@code type:}. A step type reads
 * its own keys (besides the common ones: name, type, required, timeout, maxAttempts, backoff,
 * maxBackoff) and builds the action, and any services that run beside the role.
 *
 * <p>To add a type: implement this interface with the adapter's builder, and add it to {@link
 * #KNOWN}. Nothing else in the loader changes.
 */
interface StepType {

  /** The value of {@code type:} that selects this step type. */
  String name();

  /** The keys this type reads, besides the common ones. */
  List<String> keys();

  /**
   * Builds the step from its section; reports problems through the section and returns null when
   * there are any.
   */
  Built build(String stepName, Yaml.Section step, Scope scope);

  /**
   * What a step may know of the file around it.
   *
   * @param nodeId this node's id
   * @param memberIds every member's id
   * @param eligible whether this node may become active (a witness never runs a plan)
   * @param node the node, bound once the sidecar has built it
   */
  record Scope(String nodeId, Set<String> memberIds, boolean eligible, NodeRef node) {}

  /**
   * A built step.
   *
   * @param action the promotion action
   * @param services what runs beside the role for this step (may be empty)
   */
  record Built(PromotionAction action, List<NodeService> services) {
    Built(PromotionAction action) {
      this(action, List.of());
    }
  }

  /** Step types by name. */
  Map<String, StepType> KNOWN =
      Map.of(
          ExecStep.TYPE.name(), ExecStep.TYPE,
          PostgresStep.TYPE.name(), PostgresStep.TYPE,
          DnsStep.TYPE.name(), DnsStep.TYPE);
}
