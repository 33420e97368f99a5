package dev.baton.sidecar;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A management plane's health endpoint for the health-check tests: {@code GET /healthz} answers 200
 * while {@link #up} is set, 503 while not; with a first-answer delay its first answer comes late,
 * as a cold process's would.
 */
final class Plane implements AutoCloseable {
  final AtomicBoolean up = new AtomicBoolean(true);
  final AtomicInteger requests = new AtomicInteger();
  private final HttpServer server;

  Plane() throws Exception {
    this(Duration.ZERO);
  }

  Plane(Duration firstAnswerDelay) throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/healthz",
        ex -> {
          if (requests.getAndIncrement() == 0 && !firstAnswerDelay.isZero()) {
            try {
              Thread.sleep(firstAnswerDelay.toMillis());
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          byte[] body = (up.get() ? "ok" : "plane down").getBytes();
          ex.sendResponseHeaders(up.get() ? 200 : 503, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  java.net.URI url() {
    return java.net.URI.create("http://127.0.0.1:" + port() + "/healthz");
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
