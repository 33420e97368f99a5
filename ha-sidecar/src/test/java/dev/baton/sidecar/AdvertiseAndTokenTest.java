package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.HttpURLConnection;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Sidecars whose advertised addresses differ from where they listen (members[].raft and .control
 * against raft.listen and control.listen, mapped by a port forwarder as a per-pod load balancer
 * would), and the local token endpoint {@code GET /token}.
 */
class AdvertiseAndTokenTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void nodesThatListenBehindPortMappingsElectFailOverAndServeTheTokenLocally() throws Exception {
    try (SidecarProcesses cluster = SidecarProcesses.behindPortMappings(3)) {
      cluster.startAll();
      String active = cluster.awaitSingleActive(WAIT);
      // Nothing listens on an advertised port but the mapping: the nodes could only have formed
      // the group by dialling each other through it.
      SidecarProcesses.Node a = cluster.node(active).orElseThrow();
      assertThat(a.raftListen).isNotEqualTo(a.raft);

      JsonNode token = Json.read(cluster.get(active, "/token").body());
      long activeToken =
          Long.parseLong(cluster.get(active, "/active").body().replaceAll(".*token=", "").trim());
      assertThat(token.path("token").asLong()).isEqualTo(activeToken);
      assertThat(token.path("node").asText()).isEqualTo(active);
      assertThat(token.path("leaseRemainingMillis").asLong()).isPositive();
      for (String id : cluster.nodes.keySet()) {
        if (!id.equals(active)) {
          SidecarProcesses.HttpResult standby = cluster.get(id, "/token");
          assertThat(standby.code()).as(standby.body()).isEqualTo(503);
          assertThat(Json.read(standby.body()).has("token")).isFalse();
        }
      }

      cluster.kill(active);
      String next =
          await("another node active")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(50))
              .until(
                  () -> cluster.activeIds().stream().filter(id -> !id.equals(active)).findFirst(),
                  Optional::isPresent)
              .get();
      assertThat(Json.read(cluster.get(next, "/token").body()).path("token").asLong())
          .isGreaterThan(activeToken);
    }
  }

  @Test
  void theTokenEndpointRefusesAClientThatIsNotOnThisMachinesLoopback() throws Exception {
    InetAddress external = externalAddress();
    try (SidecarProcesses cluster = new SidecarProcesses(1)) {
      // Listen on every interface, then call from the machine's own non-loopback address.
      listenOn(cluster, "0.0.0.0");
      cluster.startAll();
      cluster.awaitSingleActive(WAIT);
      int port = cluster.nodes.get("n1").http;
      assertThat(code("http://" + external.getHostAddress() + ":" + port + "/token"))
          .isEqualTo(403);
      assertThat(cluster.get("n1", "/token").code()).isEqualTo(200);
    }
  }

  /**
   * The shipped two-regions configs listen on the host's own address ({@code http.listen:
   * 10.0.1.5:8008}) so the load balancer can reach {@code /active}. A local writer must still get
   * its token: on 127.0.0.1 at the same port (where docs/any-language.md points it), since a call
   * to the host's own address arrives from that address and is refused.
   */
  @Test
  void aSidecarListeningOnTheHostsOwnAddressServesTheTokenOnLoopbackToo() throws Exception {
    InetAddress external = externalAddress();
    try (SidecarProcesses cluster = new SidecarProcesses(1)) {
      listenOn(cluster, external.getHostAddress());
      cluster.startAll();
      cluster.awaitSingleActive(WAIT);
      int port = cluster.nodes.get("n1").http;
      // SidecarProcesses calls 127.0.0.1: the loopback listener beside the configured one.
      SidecarProcesses.HttpResult token = cluster.get("n1", "/token");
      assertThat(token.code()).as(token.body()).isEqualTo(200);
      assertThat(Json.read(token.body()).path("token").asLong()).isPositive();
      // The configured address serves the load balancer, and still refuses /token to a caller
      // that is not on loopback.
      assertThat(code("http://" + external.getHostAddress() + ":" + port + "/active"))
          .isEqualTo(200);
      assertThat(code("http://" + external.getHostAddress() + ":" + port + "/token"))
          .isEqualTo(403);
    }
  }

  private static void listenOn(SidecarProcesses cluster, String host) throws Exception {
    java.nio.file.Path config = cluster.nodes.get("n1").config;
    String yaml = java.nio.file.Files.readString(config);
    String changed = yaml.replace("http:\n  listen: 127.0.0.1:", "http:\n  listen: " + host + ":");
    assertThat(changed).as("the test config's http.listen").isNotEqualTo(yaml);
    java.nio.file.Files.writeString(config, changed);
  }

  private static int code(String url) throws Exception {
    HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
    try {
      return c.getResponseCode();
    } finally {
      c.disconnect();
    }
  }

  /**
   * This machine's first non-loopback IPv4 address; the test is skipped, saying so, without one.
   */
  private static InetAddress externalAddress() throws Exception {
    Optional<InetAddress> external =
        Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
            .filter(
                i -> {
                  try {
                    return i.isUp() && !i.isLoopback();
                  } catch (java.net.SocketException e) {
                    return false;
                  }
                })
            .flatMap(i -> Collections.list(i.getInetAddresses()).stream())
            .filter(addr -> addr instanceof Inet4Address)
            .findFirst();
    Assumptions.assumeTrue(
        external.isPresent(),
        "this machine has no non-loopback IPv4 address to listen on or call from; skipped");
    return external.get();
  }
}
