package dev.baton.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntPredicate;

/**
 * Free local ports for the demo, the tests and the benchmarks, never the same port twice in one
 * JVM: for whoever runs several nodes on one machine (a demo, an embedder's tests). A production
 * node takes its ports from its configuration, never from here.
 *
 * <p>Public API rather than internal: the sidecar's demo (main code of another module) needs it, so
 * it cannot live in a test fixture, and it carries no Raft type.
 *
 * <p>Asking the kernel for an ephemeral port and closing the socket again does not reserve it: the
 * next request may get the same number back before the first caller has bound it. A test that
 * builds a three-member cluster from three such requests then gives one address to two members
 * (this happened in CI). Every port handed out here is remembered for the life of the JVM and never
 * handed out again; other processes can still take a port between the hand-out and its use, which
 * no allocation scheme that does not keep the socket open can prevent.
 *
 * <p>The ports come from below the kernel's ephemeral range ({@code
 * /proc/sys/net/ipv4/ip_local_port_range}, from 10000 up to its first port), never from it: the
 * kernel hands ephemeral ports to every outgoing connection of every process, so a node restarted
 * on its port a few seconds after it stopped found it taken by some other process's connection
 * (HistoryTest's full restart in CI: "Address already in use"). Where that file cannot be read, or
 * leaves too small a range, the kernel's own ephemeral choice is used, as before.
 */
public final class LocalPorts {
  private static final int ATTEMPTS = 200;
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  /** The first port handed out, and the first one past the range: below the ephemeral range. */
  private static final int RANGE_START = 10_000;

  private static final int RANGE_END = rangeEnd();

  private LocalPorts() {}

  /**
   * The kernel's first ephemeral port, or 0 (no range of our own) where it cannot be read. By
   * lines: {@code Files.readString} gets one character of a procfs file (it reports a size of 0).
   */
  private static int rangeEnd() {
    try {
      String[] range =
          Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
              .get(0)
              .trim()
              .split("\\s+");
      int first = Integer.parseInt(range[0]);
      return first - RANGE_START >= 1_000 ? first : 0;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** A random port of the range that can be bound on {@code address} now, or 0. */
  private static int bindable(InetAddress address) {
    int port = ThreadLocalRandom.current().nextInt(RANGE_START, RANGE_END);
    try (ServerSocket s = new ServerSocket(port, 1, address)) {
      return s.getLocalPort();
    } catch (IOException e) {
      return 0; // taken: try another
    }
  }

  /** A port the kernel chooses from its ephemeral range. */
  private static int ephemeral(InetAddress address) {
    try (ServerSocket s = new ServerSocket(0, 1, address)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind an ephemeral port on " + address, e);
    }
  }

  /** A TCP port free on the loopback address and not handed out before in this JVM. */
  public static int next() {
    return next(InetAddress.getLoopbackAddress(), port -> true);
  }

  /** A TCP port free on {@code address} and not handed out before in this JVM. */
  public static int next(InetAddress address) {
    return next(address, port -> true);
  }

  /**
   * A TCP port free on {@code address}, accepted by {@code alsoFree} (for example: free for UDP
   * too, or free on other addresses as well), and not handed out before in this JVM.
   */
  public static int next(InetAddress address, IntPredicate alsoFree) {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      int port = RANGE_END > RANGE_START ? bindable(address) : ephemeral(address);
      if (port > 0 && !HANDED_OUT.contains(port) && alsoFree.test(port) && HANDED_OUT.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException(
        "no free port on "
            + address
            + " after "
            + ATTEMPTS
            + " attempts ("
            + HANDED_OUT.size()
            + " ports already handed out in this JVM)");
  }
}
