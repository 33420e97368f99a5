package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The {@link NetworkNamespace} fixture that a real-process region cut needs (issue 32): a server
 * inside answers from the root namespace; once cut, it does not (no answer, no refusal) while a
 * client inside the namespace still reaches it; healed, it answers again; closed, the namespace is
 * gone.
 */
class NetworkNamespaceTest {
  private static final int PORT = 18080;

  @Test
  void aCutRegionIsUnreachableFromOutsideWhileItsOwnTrafficGoesOnAndHealsBack() throws Exception {
    String name;
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    try (NetworkNamespace region = NetworkNamespace.create()) {
      name = region.name();
      assertThat(NetworkNamespace.exists(name)).isTrue();
      Process server =
          new ProcessBuilder(
                  region.command(
                      "python3",
                      "-m",
                      "http.server",
                      Integer.toString(PORT),
                      "--bind",
                      region.address()))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      try {
        URI uri = URI.create("http://" + region.address() + ":" + PORT + "/");
        await("the server inside answers from outside")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(100))
            .ignoreExceptions()
            .until(() -> get(http, uri), code -> code == 200);

        region.cut();
        long start = System.nanoTime();
        assertThatThrownBy(() -> get(http, uri))
            .as("cut: nothing answers from outside, not even a refusal")
            .isInstanceOf(IOException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start))
            .as("a timeout, not a refusal")
            .isGreaterThanOrEqualTo(Duration.ofMillis(900));
        assertThat(fromInside(region, uri))
            .as("traffic inside the cut region goes on")
            .isEqualTo("200");

        region.heal();
        await("healed: the server answers from outside again")
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(100))
            .ignoreExceptions()
            .until(() -> get(http, uri), code -> code == 200);
      } finally {
        server.destroy();
        server.waitFor(10, TimeUnit.SECONDS);
      }
    }
    assertThat(NetworkNamespace.exists(name)).as("closed: the namespace is gone").isFalse();
  }

  private static int get(HttpClient http, URI uri) throws IOException, InterruptedException {
    return http.send(
            HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(1)).GET().build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** The status code a client inside the namespace gets, as text. */
  private static String fromInside(NetworkNamespace region, URI uri) throws Exception {
    Process p =
        new ProcessBuilder(
                region.command(
                    "python3",
                    "-c",
                    "import urllib.request;print(urllib.request.urlopen('"
                        + uri
                        + "',timeout=5).status)"))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
