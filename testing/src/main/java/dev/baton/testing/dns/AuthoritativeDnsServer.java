package dev.baton.testing.dns;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * A real authoritative DNS server started by a test on a free 127.0.0.1 port: {@link BindServer} or
 * {@link KnotServer}. Both serve the same two zones with the same keys, so one test contract runs
 * against each.
 *
 * <p>Keys are {@code tsig-keygen} key files (BIND key syntax), one per TSIG algorithm, named by the
 * algorithm's BIND name ({@link #ALGORITHMS}): this module does not depend on the DNS adapter, so a
 * test reads a file into the adapter's key type itself ({@code TsigKey.fromBindKeyFile}).
 */
public interface AuthoritativeDnsServer extends AutoCloseable {

  /**
   * The TSIG algorithms the servers hold an update key for, by their BIND names ({@code tsig-keygen
   * -a}): the DNS adapter's {@code TsigAlgorithm} values, whose tests check that the two lists
   * agree.
   */
  List<String> ALGORITHMS =
      List.of("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512");

  /** The algorithm of {@link #keyFile()}. */
  String DEFAULT_ALGORITHM = "hmac-sha256";

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

  /** The key file of the hmac-sha256 key allowed to update {@link #zone()}. */
  default Path keyFile() {
    return keyFile(DEFAULT_ALGORITHM);
  }

  /**
   * The {@code tsig-keygen} output file (BIND key syntax) of the key of {@code algorithm} (a BIND
   * name, one of {@link #ALGORITHMS}) allowed to update {@link #zone()}.
   *
   * @throws IllegalArgumentException naming the algorithm, if it is not one of {@link #ALGORITHMS}
   */
  Path keyFile(String algorithm);

  /** The key file of a key the server knows (signed queries verify) but that may update no zone. */
  Path keyFileWithoutUpdateRights();

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
