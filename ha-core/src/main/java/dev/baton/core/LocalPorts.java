package dev.baton.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
 */
public final class LocalPorts {
  private static final int ATTEMPTS = 200;
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private LocalPorts() {}

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
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, address)) {
        port = s.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot bind an ephemeral port on " + address, e);
      }
      if (!HANDED_OUT.contains(port) && alsoFree.test(port) && HANDED_OUT.add(port)) {
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
