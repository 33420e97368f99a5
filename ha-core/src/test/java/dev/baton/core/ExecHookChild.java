package dev.baton.core;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A JVM that runs one exec hook and is SIGKILLed by ExecActionTest while the hook runs. The hook
 * writes "started", then, three seconds later, "late" from itself and "late-grandchild" from a
 * process it started in the background. Argument: the file the hook writes to.
 */
public final class ExecHookChild {
  public static void main(String[] args) throws Exception {
    Path file = Path.of(args[0]);
    ExecAction hook =
        ExecAction.builder("slow-promote")
            .command(
                "sh",
                "-c",
                "echo started >> "
                    + file
                    + "; (sleep 3; echo late-grandchild >> "
                    + file
                    + ") & sleep 3; echo late >> "
                    + file
                    + "; wait")
            .build();
    System.out.println("RUNNING HOOK");
    hook.promote(ExecActionTest.ctx(1, StepContext.Phase.PROMOTE, Duration.ofSeconds(60)));
    System.out.println("HOOK DONE");
  }
}
