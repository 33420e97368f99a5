package dev.baton.core.control;

import dev.baton.core.Role;
import java.time.Instant;
import java.util.Optional;

/**
 * One role change of a node, as {@link BatonClient#watchRoleChanges} streams it: first the node's
 * role when the stream opened, then every change.
 *
 * @param nodeId the node
 * @param role {@link Role#ACTIVE} or {@link Role#STANDBY} (a role this client does not know reads
 *     as {@link Role#STANDBY}: not active)
 * @param token the activation's token when active, else {@link dev.baton.core.BatonNode#NO_TOKEN}
 * @param standbyReason why the node is standby (a {@link dev.baton.core.StandbyReason} name, kept
 *     as text so that a newer server's reasons pass through); empty when active
 * @param previousActive when active: the active before it, if any
 * @param previousToken when active: that active's token, else {@link
 *     dev.baton.core.BatonNode#NO_TOKEN}
 * @param at the serving node's wall clock at the change, for display only
 */
public record RoleChange(
    String nodeId,
    Role role,
    long token,
    Optional<String> standbyReason,
    Optional<String> previousActive,
    long previousToken,
    Instant at) {}
