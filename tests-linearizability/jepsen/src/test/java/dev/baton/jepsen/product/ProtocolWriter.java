package dev.baton.jepsen.product;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A fenced writer that speaks only the public protocol (docs/fence-protocol.md), as a program in
 * another language would: no Baton class, no {@code FencedDataSource}. It runs beside a sidecar, in
 * the same container ({@code /token} answers loopback callers only), started by the container's
 * start script.
 *
 * <p>Before each transaction it reads the token from the sidecar's {@code GET /token}; with none
 * (the node is not active) it does not write. On every new connection it resolves the switched DNS
 * name through the suite's BIND server (a plain A query, nothing cached), and it connects again,
 * resolving again, after any error and whenever the token changed. Each transaction is {@code
 * BEGIN; SELECT baton.check_fence(resource, token);} then takes the next commit number from {@code
 * jepsen.commit_order} (its row lock orders the writers' commits) and inserts the row {@code (seq,
 * token, node, value)}; {@code COMMIT}.
 *
 * <p>It appends one JSON line per event to its log (flushed at once, so a SIGKILL loses no line it
 * wrote): {@code invoke} before the transaction, then {@code ok} (with the commit number), {@code
 * fail} (refused by the fence, or failed before the COMMIT was sent: nothing committed) or {@code
 * info} (the COMMIT's outcome is unknown), with the CLOCK_MONOTONIC time every container shares.
 * Reads of no token are counted, not logged one by one.
 *
 * <p>With {@code writers} above 1 it runs that many writers at once in one process, each a thread
 * with its own connection, its own values and its own field {@code "w"} in every line it logs: a
 * writer of its own in the history (one operation at a time each, every invocation followed by its
 * completion), as separate programs would be. {@code intervalMillis} is each writer's pause before
 * a transaction; a writer with no token waits at least 20 ms before it asks again.
 *
 * <p>Arguments: {@code node tokenUrl dnsServer dnsName resource logFile intervalMillis [writers]}.
 */
public final class ProtocolWriter {
  private static final Pattern TOKEN = Pattern.compile("\"token\"\\s*:\\s*(\\d+)");

  /** A writer with no token asks again after this long at the earliest. */
  private static final long NO_TOKEN_PAUSE_MILLIS = 20;

  private final String node;
  private final URI tokenUrl;
  private final SimpleResolver resolver;
  private final Name name;
  private final String resource;
  private final OutputStream log;
  private final long intervalMillis;
  private final HttpClient http;

  /** This writer's number in its process ({@code "w"} in its log lines), or -1 when it is alone. */
  private final int w;

  private final String incarnation;
  private Connection conn;
  private long connToken = -1;
  private long seq;
  private long noToken;

  private ProtocolWriter(String[] a, OutputStream log, HttpClient http, int w, String incarnation)
      throws IOException {
    this.node = a[0];
    this.tokenUrl = URI.create(a[1]);
    this.resolver = new SimpleResolver(InetAddress.getByName(a[2]));
    resolver.setTimeout(Duration.ofMillis(500));
    this.name = Name.fromString(a[3].endsWith(".") ? a[3] : a[3] + ".");
    this.resource = a[4];
    this.log = log;
    this.intervalMillis = Long.parseLong(a[6]);
    this.http = http;
    this.w = w;
    this.incarnation = incarnation;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 7 && args.length != 8) {
      System.err.println(
          "usage: ProtocolWriter node tokenUrl dnsServer dnsName resource logFile intervalMillis"
              + " [writers]");
      System.exit(2);
    }
    long interval = Long.parseLong(args[6]);
    int writers = args.length == 8 ? Integer.parseInt(args[7]) : 1;
    if (interval < 0 || writers < 1) {
      System.err.println(
          "ProtocolWriter: intervalMillis must be 0 or more and writers 1 or more, not "
              + interval
              + " and "
              + writers);
      System.exit(2);
    }
    OutputStream log = new FileOutputStream(args[5], true);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
    // A fresh incarnation per process start: values stay unique across restarts of the site.
    String incarnation = Long.toString(System.currentTimeMillis() % 100_000_000L, 36);
    emit(log, "{\"e\":\"start\",\"time\":" + System.nanoTime() + ",\"writers\":" + writers + "}");
    if (writers == 1) {
      new ProtocolWriter(args, log, http, -1, incarnation).run();
      return;
    }
    Thread[] threads = new Thread[writers];
    for (int i = 0; i < writers; i++) {
      ProtocolWriter writer = new ProtocolWriter(args, log, http, i, incarnation);
      threads[i] =
          new Thread(
              () -> {
                try {
                  writer.run();
                } catch (IOException e) {
                  // The log cannot be written: nothing this writer does could be judged.
                  e.printStackTrace();
                  System.exit(1);
                }
              },
              "writer-" + i);
      threads[i].start();
    }
    for (Thread t : threads) {
      t.join();
    }
  }

  private void run() throws IOException {
    long lastNoTokenLog = 0;
    boolean hadToken = true;
    while (true) {
      LockSupport.parkNanos(
          TimeUnit.MILLISECONDS.toNanos(
              hadToken ? intervalMillis : Math.max(intervalMillis, NO_TOKEN_PAUSE_MILLIS)));
      long token = readToken();
      hadToken = token > 0;
      if (token <= 0) {
        noToken++;
        closeConnection();
        long now = System.nanoTime();
        if (now - lastNoTokenLog > TimeUnit.SECONDS.toNanos(5)) {
          emit(
              "{\"e\":\"no-token\",\"time\":"
                  + now
                  + writerField()
                  + ",\"count\":"
                  + noToken
                  + "}");
          lastNoTokenLog = now;
        }
        continue;
      }
      if (token != connToken) {
        closeConnection();
      }
      String address;
      try {
        if (conn == null) {
          address = resolve();
          conn = connect(address);
          connToken = token;
        }
      } catch (Exception e) {
        emit(
            "{\"e\":\"connect-error\",\"time\":"
                + System.nanoTime()
                + writerField()
                + ",\"token\":"
                + token
                + ",\"error\":"
                + quote(e.toString())
                + "}");
        closeConnection();
        continue;
      }
      String value = node + "." + incarnation + (w < 0 ? "" : ".w" + w) + "-" + (++seq);
      write(token, value);
    }
  }

  private void write(long token, String value) throws IOException {
    emit(op("invoke", token, value, null, null));
    boolean commitSent = false;
    try {
      conn.setAutoCommit(false);
      try (PreparedStatement check = conn.prepareStatement("SELECT baton.check_fence(?, ?)")) {
        check.setString(1, resource);
        check.setLong(2, token);
        check.executeQuery().close();
      }
      long commitSeq;
      try (PreparedStatement next =
              conn.prepareStatement(
                  "UPDATE jepsen.commit_order SET n = n + 1 WHERE id = 1 RETURNING n");
          ResultSet rs = next.executeQuery()) {
        rs.next();
        commitSeq = rs.getLong(1);
      }
      try (PreparedStatement ins =
          conn.prepareStatement(
              "INSERT INTO jepsen.writes (commit_seq, token, node, value) VALUES (?, ?, ?, ?)")) {
        ins.setLong(1, commitSeq);
        ins.setLong(2, token);
        ins.setString(3, node);
        ins.setString(4, value);
        ins.executeUpdate();
      }
      commitSent = true;
      conn.commit();
      emit(op("ok", token, value, commitSeq, null));
    } catch (SQLException e) {
      String state = e.getSQLState() == null ? "" : e.getSQLState();
      // Refused by the fence (or any error before COMMIT was sent): nothing committed. An error at
      // COMMIT (a lost connection, BT008 at commit) leaves the outcome unknown to this writer.
      String type = commitSent && !state.startsWith("BT") ? "info" : "fail";
      emit(op(type, token, value, null, state + " " + e.getMessage()));
      closeConnection();
    }
  }

  private long readToken() {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(tokenUrl).timeout(Duration.ofMillis(1000)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return 0;
      }
      Matcher m = TOKEN.matcher(r.body());
      return m.find() ? Long.parseLong(m.group(1)) : 0;
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  private String resolve() throws IOException {
    Message answer = resolver.send(Message.newQuery(Record.newRecord(name, Type.A, DClass.IN)));
    for (Record r : answer.getSection(Section.ANSWER)) {
      if (r instanceof ARecord a) {
        return a.getAddress().getHostAddress();
      }
    }
    throw new IOException("no A record for " + name);
  }

  private static Connection connect(String address) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "2");
    p.setProperty("socketTimeout", "10");
    return DriverManager.getConnection("jdbc:postgresql://" + address + ":5432/postgres", p);
  }

  private void closeConnection() {
    if (conn != null) {
      try {
        conn.close();
      } catch (SQLException ignored) {
        // Already broken: the next transaction connects again.
      }
      conn = null;
      connToken = -1;
    }
  }

  private String writerField() {
    return w < 0 ? "" : ",\"w\":" + w;
  }

  private String op(String type, long token, String value, Long commitSeq, String error) {
    StringBuilder b = new StringBuilder("{\"e\":\"op\",\"type\":\"").append(type);
    b.append("\",\"time\":").append(System.nanoTime()).append(writerField());
    b.append(",\"token\":").append(token).append(",\"value\":").append(quote(value));
    if (commitSeq != null) {
      b.append(",\"seq\":").append(commitSeq);
    }
    if (error != null) {
      b.append(",\"error\":").append(quote(error));
    }
    return b.append('}').toString();
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private void emit(String line) throws IOException {
    emit(log, line);
  }

  /** One line, written whole: the writers of one process share the log. */
  private static void emit(OutputStream log, String line) throws IOException {
    byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
    synchronized (log) {
      log.write(b);
      log.flush();
    }
  }
}
