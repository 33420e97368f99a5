package dev.baton.core.control;

import dev.baton.core.Member;
import java.util.Objects;
import java.util.Optional;

/**
 * A member as the control API lists it ({@link BatonClient#listMembers()}): its configuration and,
 * when the answering node knows it, the address of its control API.
 *
 * @param member the member's configuration
 * @param controlAddress its control API's {@code host:port}, when the answering node knows it
 */
public record ClusterMember(Member member, Optional<String> controlAddress) {
  public ClusterMember {
    Objects.requireNonNull(member, "member");
    Objects.requireNonNull(controlAddress, "controlAddress");
  }
}
