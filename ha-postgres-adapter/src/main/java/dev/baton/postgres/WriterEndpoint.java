package dev.baton.postgres;

import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.StaleTokenException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current PostgreSQL writer of a deployment, kept in the cluster's key-value store under {@code
 * baton/postgres/<name>/writer} and pushed to listeners, so that connection pools follow the writer
 * without a restart ({@link HikariWriterPool}).
 *
 * <p>The record carries the JDBC URL (never credentials), the fencing token of the activation that
 * published it and that node's id. Publishing is a compare-and-set on the key's revision that
 * refuses to replace a record of a higher token, so a delayed publish from a stale active cannot
 * point clients back at the old writer. Listeners only ever move forward: an event whose token is
 * lower than the last one delivered is dropped.
 *
 * <p>The value is UTF-8 text, one {@code key=value} per line ({@code token}, {@code url}, {@code
 * node}), readable with {@code baton kv get}.
 */
public final class WriterEndpoint {
  private static final Logger LOG = LoggerFactory.getLogger(WriterEndpoint.class);
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");
  private static final int CAS_ATTEMPTS = 20;

  /** The writer of a deployment: a JDBC URL and the token of the activation that published it. */
  public record Writer(String jdbcUrl, long token, String node) {
    public Writer {
      Objects.requireNonNull(jdbcUrl, "jdbcUrl");
      Objects.requireNonNull(node, "node");
      if (jdbcUrl.indexOf('\n') >= 0 || node.indexOf('\n') >= 0) {
        throw new IllegalArgumentException("writer fields must not contain line breaks");
      }
    }

    byte[] encode() {
      return ("token=" + token + "\nurl=" + jdbcUrl + "\nnode=" + node + "\n")
          .getBytes(StandardCharsets.UTF_8);
    }

    static Writer decode(String key, byte[] value) {
      String url = null;
      String node = "";
      Long token = null;
      for (String line : new String(value, StandardCharsets.UTF_8).split("\n")) {
        int eq = line.indexOf('=');
        if (eq < 0) {
          continue;
        }
        String k = line.substring(0, eq);
        String v = line.substring(eq + 1);
        switch (k) {
          case "token" -> token = Long.parseLong(v.trim());
          case "url" -> url = v;
          case "node" -> node = v;
          default -> {
            // fields added by later versions are ignored
          }
        }
      }
      if (url == null || token == null) {
        throw new IllegalStateException(
            "the writer record under " + key + " has no url or token: not written by Baton?");
      }
      return new Writer(url, token, node);
    }
  }

  private final KeyValueStore kv;
  private final String name;
  private final String key;
  private final String positionKey;

  /**
   * @param name the deployment's name: letters, digits, '.', '_' or '-'
   */
  public WriterEndpoint(KeyValueStore kv, String name) {
    this.kv = Objects.requireNonNull(kv, "kv");
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "invalid writer endpoint name '" + name + "': use 1 to 100 of A-Z a-z 0-9 . _ -");
    }
    this.name = name;
    this.key = "baton/postgres/" + name + "/writer";
    this.positionKey = "baton/postgres/" + name + "/position";
  }

  public String name() {
    return name;
  }

  /** The store the record lives in (for the deployment's other records, {@link RejoinRecords}). */
  KeyValueStore kv() {
    return kv;
  }

  /** The key-value store key that holds the record. */
  public String key() {
    return key;
  }

  /** The writer as the store holds it now (a linearizable read). */
  public Optional<Writer> current() {
    return kv.get(key).map(e -> Writer.decode(key, e.value()));
  }

  /**
   * Publishes {@code jdbcUrl} as the writer for the activation {@code token}. Idempotent for the
   * same URL and token.
   *
   * @throws StaleTokenException if the store already holds a writer of a higher token
   */
  public Writer publish(String jdbcUrl, long token, String node) {
    Writer mine = new Writer(jdbcUrl, token, node);
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      Optional<KvEntry> cur = kv.get(key);
      long revision = 0;
      if (cur.isPresent()) {
        Writer held = Writer.decode(key, cur.get().value());
        if (held.token() > token) {
          throw new StaleTokenException(key, token, held.token());
        }
        if (held.equals(mine)) {
          return held;
        }
        revision = cur.get().revision();
      }
      if (kv.compareAndSetRevision(key, revision, mine.encode()).isPresent()) {
        LOG.info("writer endpoint {}: {} (token {}, node {})", name, jdbcUrl, token, node);
        return mine;
      }
    }
    throw new IllegalStateException(
        "could not publish the writer under " + key + ": it kept changing concurrently");
  }

  /** The key that holds the writer's last reported WAL position. */
  public String positionKey() {
    return positionKey;
  }

  /**
   * Records the writer's WAL position ({@code pg_current_wal_lsn()}) for the activation {@code
   * token}, for the lag check of a failover that cannot reach the writer (as Patroni keeps the
   * leader's position in its DCS). A position of an older token is not written over a newer one's;
   * a lower position of the same token is ignored. See {@link WalPositionReporter}.
   *
   * @return whether the record changed
   */
  public boolean publishPosition(long lsn, long token) {
    byte[] mine =
        ("token=" + token + "\nlsn=" + Lsn.format(lsn) + "\n").getBytes(StandardCharsets.UTF_8);
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      Optional<KvEntry> cur = kv.get(positionKey);
      long revision = 0;
      if (cur.isPresent()) {
        long[] held = decodePosition(cur.get().value());
        if (held[0] > token) {
          throw new StaleTokenException(positionKey, token, held[0]);
        }
        if (held[0] == token && held[1] >= lsn) {
          return false;
        }
        revision = cur.get().revision();
      }
      if (kv.compareAndSetRevision(positionKey, revision, mine).isPresent()) {
        return true;
      }
    }
    throw new IllegalStateException(
        "could not publish the position under " + positionKey + ": it kept changing concurrently");
  }

  /** The last reported writer WAL position, if any: for {@code lastKnownPrimaryPosition}. */
  public OptionalLong lastKnownPosition() {
    return kv.get(positionKey)
        .map(e -> OptionalLong.of(decodePosition(e.value())[1]))
        .orElse(OptionalLong.empty());
  }

  private long[] decodePosition(byte[] value) {
    long token = -1;
    long lsn = -1;
    for (String line : new String(value, StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("token=")) {
        token = Long.parseLong(line.substring(6).trim());
      } else if (line.startsWith("lsn=")) {
        lsn = Lsn.parse(line.substring(4).trim());
      }
    }
    if (token < 0 || lsn < 0) {
      throw new IllegalStateException("the position record under " + positionKey + " is malformed");
    }
    return new long[] {token, lsn};
  }

  /**
   * Calls {@code listener} on {@code executor} with the current writer (if one is published) and
   * then with every newer one. Writers arrive in token order; one with a lower token than the last
   * delivered is never delivered.
   *
   * @return a handle that stops the deliveries when closed
   */
  public KeyValueStore.Watch subscribe(Executor executor, Consumer<Writer> listener) {
    Objects.requireNonNull(listener, "listener");
    Delivery delivery = new Delivery(listener);
    // Watch first, then read: a change between the two reaches us either way, and the token
    // order makes the duplicate harmless.
    KeyValueStore.Watch watch =
        kv.watch(
            key,
            executor,
            (KvEvent event) -> {
              if (!event.entry().key().equals(key)) {
                return;
              }
              if (event.type() == KvEvent.Type.DELETE) {
                LOG.warn(
                    "writer endpoint {}: the record was deleted; keeping the last writer", name);
                return;
              }
              delivery.offer(Writer.decode(key, event.entry().value()));
            });
    executor.execute(
        () -> {
          try {
            current().ifPresent(delivery::offer);
          } catch (RuntimeException e) {
            LOG.warn(
                "writer endpoint {}: cannot read the current writer: {}", name, e.getMessage());
          }
        });
    return watch;
  }

  private static final class Delivery {
    private final Consumer<Writer> listener;
    private @Nullable Writer last;

    Delivery(Consumer<Writer> listener) {
      this.listener = listener;
    }

    synchronized void offer(Writer w) {
      if (last != null && (w.token() < last.token() || w.equals(last))) {
        return;
      }
      last = w;
      try {
        listener.accept(w);
      } catch (RuntimeException e) {
        LOG.warn("writer endpoint listener failed for {}: {}", w.jdbcUrl(), e.toString());
      }
    }
  }
}
