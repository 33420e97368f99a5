package dev.baton.sidecar;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A management plane's health endpoint for the health-check tests: {@code GET /healthz} answers 200
 * while {@link #up} is set, 503 while not.
 */
final class Plane implements AutoCloseable {
  final AtomicBoolean up = new AtomicBoolean(true);
  private final HttpServer server;

  Plane() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/healthz",
        ex -> {
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

  @Override
  public void close() {
    server.stop(0);
  }
}
