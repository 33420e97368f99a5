package dev.baton.core.internal;

import dev.baton.core.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/** The node's Micrometer meters (names start with {@code baton.}). */
public final class NodeMetrics {
  private final AtomicLong term = new AtomicLong();
  private final AtomicLong lastToken = new AtomicLong();
  private final AtomicLong roleCode = new AtomicLong();
  private final Counter activations;
  private final Counter failovers;
  private final Counter demotions;

  public NodeMetrics(
      MeterRegistry registry, String clusterId, String nodeId, Supplier<Double> leaseSeconds) {
    Tags tags = Tags.of("cluster", clusterId, "node", nodeId);
    Gauge.builder("baton.role.active", roleCode, v -> v.get() == 1 ? 1 : 0)
        .description("1 while this node is active, else 0")
        .tags(tags)
        .register(registry);
    Gauge.builder("baton.token", lastToken, AtomicLong::get)
        .description("fencing token of this node's latest activation")
        .tags(tags)
        .register(registry);
    Gauge.builder("baton.raft.term", term, AtomicLong::get)
        .description("current Raft term as this node knows it")
        .tags(tags)
        .register(registry);
    // Micrometer holds a gauge's object weakly: keep the supplier strongly referenced or the
    // gauge reads NaN once the lambda is collected.
    Gauge.builder("baton.lease.remaining", leaseSeconds, Supplier::get)
        .strongReference(true)
        .description("seconds of lease left (0 when not active)")
        .baseUnit("seconds")
        .tags(tags)
        .register(registry);
    activations =
        Counter.builder("baton.activations")
            .description("times this node won the role")
            .tags(tags)
            .register(registry);
    failovers =
        Counter.builder("baton.failovers")
            .description("activations of this node that took over from another node")
            .tags(tags)
            .register(registry);
    demotions =
        Counter.builder("baton.demotions")
            .description("times this node gave the role up")
            .tags(tags)
            .register(registry);
  }

  void term(long t) {
    term.set(t);
  }

  void activated(long token, boolean tookOver) {
    lastToken.set(token);
    activations.increment();
    if (tookOver) {
      failovers.increment();
    }
  }

  void role(Role role) {
    roleCode.set(role == Role.ACTIVE ? 1 : 0);
    if (role == Role.DEMOTING) {
      demotions.increment();
    }
  }
}
