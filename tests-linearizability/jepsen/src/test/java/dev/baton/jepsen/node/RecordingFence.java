package dev.baton.jepsen.node;

import dev.baton.core.Fence;
import dev.baton.core.StepContext;
import java.util.List;

/**
 * A fence that records each advance as a {@code write [token "advance:<node>"]} of the
 * fenced-register model, then delegates. An advance is the write that makes the fence hold a new
 * token; with it in the history, the model can judge every later refusal of a stale token.
 */
final class RecordingFence implements Fence {
  private final Fence delegate;
  private final EventLog log;
  private final String nodeId;
  private int process;

  RecordingFence(Fence delegate, EventLog log, String nodeId) {
    this.delegate = delegate;
    this.log = log;
    this.nodeId = nodeId;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public synchronized void advance(long token, StepContext context) throws Exception {
    String proc = "a" + process;
    List<Object> value = List.of(token, "advance:" + nodeId);
    log.write("op", "proc", proc, "type", "invoke", "f", "write", "value", value);
    try {
      delegate.advance(token, context);
      log.write("op", "proc", proc, "type", "ok", "f", "write", "value", value);
    } catch (Exception | Error e) {
      if (FencedWriter.isStale(e)) {
        log.write("op", "proc", proc, "type", "ok", "f", "write", "value", "rejected");
      } else {
        // Unreachable server, timeout, interrupt: the advance may or may not have committed.
        log.write("op", "proc", proc, "type", "info", "f", "write", "error", e.toString());
        process++;
      }
      throw e;
    }
  }

  @Override
  public long currentToken() throws Exception {
    return delegate.currentToken();
  }
}
