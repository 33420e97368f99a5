package dev.baton.sidecar;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP port mapping, as a NAT, a per-pod load balancer or an east-west gateway makes one: every
 * connection to {@code 127.0.0.1:from} is relayed, byte for byte, to {@code 127.0.0.1:to}. Lets a
 * test give a node an advertised address that differs from where it listens.
 */
final class PortForwarder implements AutoCloseable {
  private final ServerSocket server;
  private final int to;
  private final List<Socket> open = new CopyOnWriteArrayList<>();

  PortForwarder(int from, int to) throws IOException {
    this.to = to;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), from));
    Thread accept = new Thread(this::acceptLoop, "forward-" + from + "-" + to);
    accept.setDaemon(true);
    accept.start();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket in = server.accept();
        Socket out;
        try {
          out = new Socket(InetAddress.getLoopbackAddress(), to);
        } catch (IOException e) {
          in.close(); // nothing listens behind the mapping: the client sees the reset
          continue;
        }
        open.add(in);
        open.add(out);
        pump(in, out);
        pump(out, in);
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  out.write(buf, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // one side went away
              } finally {
                closeQuietly(from);
                closeQuietly(to);
              }
            },
            "forward-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    open.forEach(PortForwarder::closeQuietly);
  }
}
