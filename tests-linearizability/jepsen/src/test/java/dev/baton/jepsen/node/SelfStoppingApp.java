package dev.baton.jepsen.node;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A stand-in node app for {@code SupervisorTest}, run as a real child JVM: it wires its exit
 * exactly as {@link NodeApp} does ({@link NodeApp#exitWhenStoppedItself} with {@link
 * NodeApp#exit}), keeps a non-daemon thread waiting as NodeApp's sampler does, and has a shutdown
 * hook that records that it ran. Its first {@code selfStops} starts (argument 2) see their node
 * stop by itself shortly after starting; later starts run until killed. The node is a {@link
 * CompletableFuture} completed with a reason, not a {@code BatonNode}: that a BatonNode completes
 * {@code stoppedItself()} is ha-core's and the sidecar's tests' business (SidecarSelfStopTest).
 */
public final class SelfStoppingApp {
  private SelfStoppingApp() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int selfStops = Integer.parseInt(args[1]);
    Path count = dir.resolve("starts");
    int start = Files.exists(count) ? Integer.parseInt(Files.readString(count).trim()) + 1 : 1;
    Files.writeString(count, Integer.toString(start));
    EventLog log = new EventLog(dir.resolve("events.jsonl"));
    log.write("start", "node", "n1", "incarnation", start);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> log.write("stopped", "node", "n1", "incarnation", start)));
    Thread sampler =
        new Thread(
            () -> {
              while (true) {
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(60));
              }
            },
            "sampler");
    sampler.start();
    CompletableFuture<String> stopped = new CompletableFuture<>();
    NodeApp.exitWhenStoppedItself(stopped, log, "n1", dir, NodeApp::exit);
    if (start <= selfStops) {
      stopped.complete("its Raft server stopped (start " + start + ")");
    } else {
      Files.writeString(dir.resolve("running"), Integer.toString(start));
    }
    sampler.join();
  }
}
