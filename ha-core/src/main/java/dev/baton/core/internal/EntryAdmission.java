package dev.baton.core.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.baton.core.internal.proto.Command;
import java.util.EnumSet;
import java.util.Set;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientRequest;
import org.jspecify.annotations.Nullable;

/**
 * One job: decides, on the leader before a client request is appended, whether {@link
 * BatonStateMachine} admits it to the log: unreadable bytes, an unknown kind, a newer format, and a
 * role entry ({@link #LOCAL_ONLY}) that did not come from this node's own process are refused.
 */
final class EntryAdmission {
  /**
   * Entries only the leader's own process may propose (the role controller, the promotion journal,
   * the membership coordinator). The lease, the tokens and the member list rest on them; a client
   * request carrying one, whoever sent it, is refused before it is appended.
   */
  static final Set<Command.KindCase> LOCAL_ONLY =
      EnumSet.of(
          Command.KindCase.ACTIVATE,
          Command.KindCase.LEASE_ROUND,
          Command.KindCase.RESIGN,
          Command.KindCase.JOURNAL,
          Command.KindCase.SET_MEMBERS,
          Command.KindCase.MEMBERSHIP_DONE);

  /** Null to admit; else {reason label, explanation}. */
  static String @Nullable [] check(RaftClientRequest request, @Nullable ClientId local) {
    Command command;
    try {
      command = Command.parseFrom(request.getMessage().getContent().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      return new String[] {"unreadable", "not a Baton command (unreadable protobuf)"};
    }
    if (command.getFormatVersion() > BatonStateMachine.FORMAT_VERSION) {
      return new String[] {
        "format",
        "format version "
            + command.getFormatVersion()
            + " but this leader reads up to version "
            + BatonStateMachine.FORMAT_VERSION
      };
    }
    if (command.getKindCase() == Command.KindCase.KIND_NOT_SET) {
      return new String[] {"unknown-kind", "a Baton command of no known kind"};
    }
    if (LOCAL_ONLY.contains(command.getKindCase())
        && (local == null || !local.equals(request.getClientId()))) {
      return new String[] {
        "not-local",
        "a role entry ("
            + command.getKindCase()
            + "), which only the leader's own process may propose, arrived from a client"
      };
    }
    return null;
  }

  private EntryAdmission() {}
}
