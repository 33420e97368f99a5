package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
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

  @Test
  void aPredicateThatRefusesEveryPortEndsWithAnErrorNamingTheAddress() {
    assertThatThrownBy(() -> LocalPorts.next(InetAddress.getLoopbackAddress(), p -> false))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no free port on")
        .hasMessageContaining("127.0.0.1");
  }
}
