package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LocalPortsTest {

  @Test
  void neverHandsOutTheSamePortTwiceAndEachWasBindable() throws Exception {
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      int port = LocalPorts.next();
      assertThat(seen.add(port)).as("port %d handed out twice (call %d)", port, i).isTrue();
    }
    // The last one is still free to bind (nothing else in this JVM holds it).
    int port = LocalPorts.next();
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      assertThat(s.getLocalPort()).isEqualTo(port);
    }
  }

  /**
   * No port comes from the kernel's ephemeral range, which every outgoing connection of every
   * process draws from: a node restarted on its port found it taken by one (HistoryTest in CI).
   */
  @Test
  void theKernelsEphemeralRangeIsLeftToOutgoingConnections() throws Exception {
    Path rangeFile = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    assumeTrue(Files.isReadable(rangeFile), "no " + rangeFile + " on this machine");
    int first = Integer.parseInt(Files.readAllLines(rangeFile).get(0).trim().split("\\s+")[0]);
    assumeTrue(
        first >= 11_000, "the ephemeral range starts at " + first + ": too low to stay below");
    for (int i = 0; i < 200; i++) {
      assertThat(LocalPorts.next()).isBetween(10_000, first - 1);
    }
  }

  @Test
  void aPredicateThatRefusesEveryPortEndsWithAnErrorNamingTheAddress() {
    assertThatThrownBy(() -> LocalPorts.next(InetAddress.getLoopbackAddress(), p -> false))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no free port on")
        .hasMessageContaining("127.0.0.1");
  }
}
