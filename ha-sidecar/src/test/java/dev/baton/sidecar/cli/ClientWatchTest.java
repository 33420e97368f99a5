package dev.baton.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEvent;
import dev.baton.core.Member;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ControlServer;
import dev.baton.testing.cluster.TestCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The key-value store {@code baton pg-guard} hands its former-primary guard (which subscribes to
 * the writer endpoint's key through {@link KeyValueStore#watch}) watches through the control API.
 * Before, its watch was a no-op that never fired. A real cluster of three with a control server
 * each: the watch delivers the puts and deletes under its prefix and nothing else, and when the
 * node it watches at dies, it goes on at another endpoint with the changes made after.
 */
class ClientWatchTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void theGuardsStoreDeliversChangesUnderItsPrefixAndGoesOnWhenItsNodeDies() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      Map<String, String> endpoints = new LinkedHashMap<>();
      for (Member m : cluster.members()) {
        endpoints.put(m.id(), "127.0.0.1:" + TestCluster.freePort());
      }
      Map<String, ControlServer> servers = new LinkedHashMap<>();
      try {
        for (BatonNode n : cluster.running()) {
          String address = endpoints.get(n.id());
          servers.put(
              n.id(),
              ControlServer.builder(n)
                  .listen(
                      "127.0.0.1", Integer.parseInt(address.substring(address.indexOf(':') + 1)))
                  .peerControlAddresses(endpoints)
                  .insecurePlaintext()
                  .build()
                  .start());
        }
        BatonNode active = cluster.awaitActive(WAIT);
        // The watch goes to the first endpoint: a follower's, so that it can die while the cluster
        // goes on.
        String watched =
            cluster.running().stream().filter(n -> n != active).findFirst().orElseThrow().id();
        List<String> order = new ArrayList<>();
        order.add(endpoints.get(watched));
        endpoints.forEach(
            (id, e) -> {
              if (!id.equals(watched)) {
                order.add(e);
              }
            });
        try (BatonClient client = BatonClient.builder().endpoints(order).build()) {
          KeyValueStore store = new PgGuardCommand.ClientStore(client);
          List<KvEvent> seen = new CopyOnWriteArrayList<>();
          try (KeyValueStore.Watch watch = store.watch("w/", Runnable::run, seen::add)) {
            // It watches from now, from when its stream is open: put until a put is seen.
            await("a put under the prefix is delivered")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(200))
                .until(
                    () -> {
                      client.put("other/x", bytes("not watched"));
                      client.put("w/a", bytes("1"));
                      return seen.stream().anyMatch(e -> e.entry().key().equals("w/a"));
                    });
            assertThat(seen)
                .allSatisfy(
                    e -> {
                      assertThat(e.type()).isEqualTo(KvEvent.Type.PUT);
                      assertThat(e.entry().key()).isEqualTo("w/a");
                      assertThat(e.entry().valueAsString()).isEqualTo("1");
                      assertThat(e.revision()).isEqualTo(e.entry().revision());
                    });

            servers.remove(watched).close();
            cluster.crash(watched);
            long before = seen.get(seen.size() - 1).revision();
            client.put("w/b", bytes("2"));
            assertThat(client.delete("w/a")).isTrue();
            await("the changes made after " + watched + " died are delivered")
                .atMost(WAIT)
                .until(
                    () ->
                        seen.stream()
                            .anyMatch(
                                e ->
                                    e.type() == KvEvent.Type.DELETE
                                        && e.entry().key().equals("w/a")));
            List<KvEvent> after = seen.stream().filter(e -> e.revision() > before).toList();
            assertThat(after).extracting(e -> e.entry().key()).containsExactly("w/b", "w/a");
            assertThat(after.get(0).type()).isEqualTo(KvEvent.Type.PUT);
            assertThat(after.get(0).entry().valueAsString()).isEqualTo("2");
            assertThat(seen).extracting(KvEvent::revision).isSorted();
            assertThat(seen).noneMatch(e -> e.entry().key().startsWith("other/"));
          }
        }
      } finally {
        servers.values().forEach(ControlServer::close);
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
