package dev.baton.benchmarks.failover;

import static org.awaitility.Awaitility.await;

import dev.baton.testing.postgres.PostgresServer;
import java.io.IOException;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * The benchmark's client: one thread that resolves the name through BIND before every write,
 * reconnects when the address changes, and inserts one row every 5 ms; each committed write is kept
 * with its time and the address it went to.
 */
final class NameWriter {
  private final String host;
  private final int port;
  private final String name;
  private final String zone;
  private final int pgPort;
  private final List<Write> writes = new CopyOnWriteArrayList<>();
  private volatile boolean writing = true;

  /** One committed write: when ({@link System#nanoTime()}) and to which server address. */
  record Write(long nanos, String address) {}

  /** Writes to {@code name.zone} as resolved by the DNS server at {@code host:port}. */
  NameWriter(String host, int port, String name, String zone, int pgPort) {
    this.host = host;
    this.port = port;
    this.name = name;
    this.zone = zone;
    this.pgPort = pgPort;
  }

  /** Starts the writing thread and waits (bounded) for its first committed write. */
  void start(Duration wait) {
    Thread t = new Thread(this::writeLoop, "dns-writer");
    t.setDaemon(true);
    t.start();
    await("first write through the name").atMost(wait).until(() -> !writes.isEmpty());
  }

  void stop() {
    writing = false;
  }

  /**
   * The first write after {@code after} that went to {@code address}, waiting up to {@code wait}.
   */
  long awaitWriteOn(String address, long after, Duration wait) {
    return await("a committed write through " + name + "." + zone + " on " + address)
        .atMost(wait)
        .pollInterval(Duration.ofMillis(5))
        .until(
            () ->
                writes.stream()
                    .filter(w -> w.nanos() > after && w.address().equals(address))
                    .mapToLong(Write::nanos)
                    .min()
                    .orElse(-1L),
            t -> t > 0);
  }

  /** The last write committed before {@code nanos}, if any. */
  OptionalLong lastBefore(long nanos) {
    return writes.stream().mapToLong(Write::nanos).filter(t -> t < nanos).max();
  }

  private void writeLoop() {
    Connection conn = null;
    String connAddress = null;
    SimpleResolver resolver;
    try {
      resolver = new SimpleResolver(InetAddress.getByName(host));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    resolver.setPort(port);
    resolver.setTimeout(Duration.ofMillis(500));
    while (writing) {
      try {
        String address = resolve(resolver);
        if (conn == null || !address.equals(connAddress)) {
          close(conn);
          conn = null;
          Properties p = new Properties();
          p.setProperty("user", PostgresServer.SUPERUSER);
          p.setProperty("connectTimeout", "1");
          p.setProperty("socketTimeout", "2");
          p.setProperty("loginTimeout", "2");
          p.setProperty("ApplicationName", "failover-bench-writer");
          conn =
              DriverManager.getConnection(
                  "jdbc:postgresql://" + address + ":" + pgPort + "/postgres", p);
          connAddress = address;
        }
        try (Statement s = conn.createStatement()) {
          s.executeUpdate("INSERT INTO bench_writes DEFAULT VALUES");
        }
        writes.add(new Write(System.nanoTime(), address));
      } catch (IOException | SQLException | RuntimeException e) {
        close(conn);
        conn = null;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    close(conn);
  }

  private String resolve(SimpleResolver resolver) throws IOException {
    Message query =
        Message.newQuery(Record.newRecord(Name.fromString(name + "." + zone), Type.A, DClass.IN));
    Message response = resolver.send(query);
    if (response.getRcode() != Rcode.NOERROR) {
      throw new IOException("DNS " + Rcode.string(response.getRcode()));
    }
    for (Record r : response.getSection(Section.ANSWER)) {
      if (r instanceof ARecord a) {
        return a.getAddress().getHostAddress();
      }
    }
    throw new IOException("no A record for " + name + "." + zone);
  }

  private static void close(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // a dead connection
      }
    }
  }
}
