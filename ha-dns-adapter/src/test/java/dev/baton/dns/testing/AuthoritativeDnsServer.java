package dev.baton.dns.testing;

import dev.baton.dns.TsigAlgorithm;
import dev.baton.dns.TsigKey;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * A real authoritative DNS server started by a test on a free 127.0.0.1 port: {@link BindServer} or
 * {@link KnotServer}. Both serve the same two zones with the same keys, so one test contract runs
 * against each.
 */
public interface AuthoritativeDnsServer extends AutoCloseable {

  /** The server software and version, for test names and messages. */
  String kind();

  String host();

  int port();

  default InetSocketAddress address() {
    return new InetSocketAddress(host(), port());
  }

  /** The zone that accepts updates, with the trailing dot. */
  String zone();

  /** The zone that accepts none, with the trailing dot. */
  String staticZone();

  /** The hmac-sha256 key allowed to update {@link #zone()}. */
  default TsigKey key() {
    return key(TsigAlgorithm.HMAC_SHA256);
  }

  /** The key of this algorithm allowed to update {@link #zone()}. */
  TsigKey key(TsigAlgorithm algorithm);

  /** The {@code tsig-keygen} output file of that key (BIND key syntax). */
  Path keyFile(TsigAlgorithm algorithm);

  /** A key the server knows (signed queries verify) but that may update no zone. */
  TsigKey keyWithoutUpdateRights();

  /** The temp directory holding configuration, zones, journals and the log. */
  Path directory();

  boolean isRunning();

  /** The server's log so far. */
  String log();

  /** {@code dig @HOST -p PORT +short +norecurse NAME TYPE}, output lines. */
  List<String> dig(String name, String type);

  /** The dynamic zone's SOA serial as served now (both servers bump it on each update). */
  long soaSerial();

  /**
   * Freezes the process (SIGSTOP): it keeps its sockets, so the kernel still accepts TCP
   * connections and queues datagrams, but nothing is answered (a hung server, or one whose replies
   * are lost) until {@link #resume()}.
   */
  void pause();

  /** Lets a {@link #pause() paused} process run again (SIGCONT). */
  void resume();

  /** Stops the process; the port stays reserved for {@link #restart()}. */
  void stop();

  /** Starts the process again on the same port with the zone data it has. */
  void restart();

  /** Stops the process and removes the directory. */
  @Override
  void close();
}
