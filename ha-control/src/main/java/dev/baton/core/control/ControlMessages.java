package dev.baton.core.control;

import dev.baton.core.Activation;
import dev.baton.core.Maintenance;
import dev.baton.core.control.proto.HistoryResponse;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.StatusResponse;
import java.util.List;

/**
 * The control API's messages for the records that {@link BatonClient} answers, and back: for a
 * program that prints them as the control API's JSON documents ({@code bin/baton ... --json}, the
 * sidecar's {@code /history}) or keeps the messages. The same conversion as the server's and the
 * client's ({@code Messages}): a message read into a record and turned back here is the message the
 * server sent, for every value this client knows.
 */
public final class ControlMessages {
  private ControlMessages() {}

  /** The {@code Status} answer that {@code report} was read from. */
  public static StatusResponse status(StatusReport report) {
    return Messages.status(report);
  }

  /**
   * The record of a {@code Status} answer, as {@link BatonClient#statusReport()} reads it.
   *
   * @throws IllegalArgumentException for a promotion state this client does not know
   */
  public static StatusReport statusReport(StatusResponse status) {
    return Messages.statusReport(status);
  }

  /**
   * The records of a {@code History} answer, as {@link BatonClient#activations()} reads them.
   *
   * @throws IllegalArgumentException for a reason or step outcome this client does not know
   */
  public static List<Activation> activations(HistoryResponse history) {
    return history.getActivationsList().stream().map(Messages::activation).toList();
  }

  /** The record of a member message, as {@link BatonClient#listMembers()} reads it. */
  public static ClusterMember clusterMember(dev.baton.core.control.proto.Member member) {
    return Messages.clusterMember(member);
  }

  /** The {@code History} answer of these activations. */
  public static HistoryResponse history(List<Activation> activations) {
    HistoryResponse.Builder b = HistoryResponse.newBuilder();
    activations.forEach(a -> b.addActivations(Messages.activation(a)));
    return b.build();
  }

  /** The control API's member. */
  public static dev.baton.core.control.proto.Member member(ClusterMember member) {
    return Messages.member(member);
  }

  /** The control API's maintenance state. */
  public static MaintenanceState maintenance(Maintenance maintenance) {
    return Messages.maintenance(maintenance);
  }
}
