package dev.baton.core.control;

import dev.baton.core.Activation;
import dev.baton.core.Maintenance;
import dev.baton.core.control.proto.HistoryResponse;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.StatusResponse;
import java.util.List;

/**
 * The control API's messages for the records that {@link BatonClient} answers, for a program that
 * prints them as the control API's JSON documents ({@code bin/baton ... --json}, the sidecar's
 * {@code /history}). The same conversion as the server's ({@code Messages}): a message read into a
 * record and turned back here is the message the server sent, for every value this client knows.
 */
public final class ControlMessages {
  private ControlMessages() {}

  /** The {@code Status} answer that {@code report} was read from. */
  public static StatusResponse status(StatusReport report) {
    return Messages.status(report);
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
