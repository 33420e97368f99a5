package dev.baton.examples.embedded;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonException;
import dev.baton.core.BatonNode;
import dev.baton.core.KvEntry;
import dev.baton.core.Member;
import dev.baton.core.NotActiveException;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small service that embeds a Baton node and does real work only while it is active: every tick
 * it takes the next sequence number from the cluster's KV store and appends a line {@code token=T
 * seq=S node=N} to a ledger file.
 *
 * <p>How it stays correct when the role moves:
 *
 * <ol>
 *   <li>The KV key {@code ledger/last} holds {@code token:seq} of the last write. A writer whose
 *       token is lower than the stored one has been replaced and stops: the key is the fence
 *       (invariant I3; it holds even if this process was paused past its lease).
 *   <li>The write is a compare-and-set on the key's revision, so two writers can never both take
 *       the same sequence number.
 *   <li>{@link ActiveContext#checkLease()} runs right before each effect (the KV write and the file
 *       append), so a node that has lost its lease stops without waiting for a callback.
 * </ol>
 *
 * <p>Run three of them (see examples/README.md):
 *
 * <pre>
 * java -cp ... dev.baton.examples.embedded.EmbeddedService n1 \
 *     n1=127.0.0.1:7401,n2=127.0.0.1:7402,n3=127.0.0.1:7403 /tmp/emb/n1 /tmp/emb/ledger.txt
 * </pre>
 */
public final class EmbeddedService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedService.class);
  static final String KEY = "ledger/last";

  private final BatonNode node;
  private final Path ledger;
  private final ScheduledExecutorService worker;
  private volatile long writes;

  public EmbeddedService(BatonNode node, Path ledger) {
    this.node = node;
    this.ledger = ledger;
    this.worker =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "ledger-writer-" + node.id());
              t.setDaemon(true);
              return t;
            });
  }

  /** Starts the work loop on a started node. */
  public EmbeddedService start() {
    node.addListener(
        new RoleListener() {
          @Override
          public void onActive(ActiveContext context) {
            LOG.info(
                "{}: active with token {} (took over from {}); writing the ledger",
                node.id(),
                context.token(),
                context.previousActive().orElse("nobody"));
          }

          @Override
          public void onStandby(StandbyReason reason) {
            LOG.info("{}: standby ({}); not writing", node.id(), reason);
          }
        });
    worker.scheduleWithFixedDelay(this::tick, 0, 100, TimeUnit.MILLISECONDS);
    return this;
  }

  /** Lines this instance has appended. */
  public long writes() {
    return writes;
  }

  private void tick() {
    Optional<ActiveContext> active = node.activeContext();
    if (active.isEmpty()) {
      return; // standby: no work
    }
    ActiveContext ctx = active.get();
    try {
      Optional<KvEntry> last = node.kv().get(KEY);
      long lastToken = 0;
      long lastSeq = 0;
      if (last.isPresent()) {
        String[] parts = last.get().valueAsString().split(":");
        lastToken = Long.parseLong(parts[0]);
        lastSeq = Long.parseLong(parts[1]);
      }
      if (lastToken > ctx.token()) {
        // A newer activation has written: this one is over, whatever the local lease says.
        LOG.warn(
            "{}: token {} is stale: the ledger was last written with token {}; stopping",
            node.id(),
            ctx.token(),
            lastToken);
        return;
      }
      long seq = lastSeq + 1;
      ctx.checkLease();
      Optional<KvEntry> taken =
          node.kv()
              .compareAndSetRevision(
                  KEY,
                  last.map(KvEntry::revision).orElse(0L),
                  (ctx.token() + ":" + seq).getBytes(UTF_8));
      if (taken.isEmpty()) {
        return; // someone wrote in between; read again next tick
      }
      ctx.checkLease();
      Files.writeString(
          ledger,
          "token=" + ctx.token() + " seq=" + seq + " node=" + node.id() + "\n",
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      writes++;
    } catch (NotActiveException e) {
      LOG.info("{}: lease ended before the effect: {}", node.id(), e.getMessage());
    } catch (BatonException e) {
      LOG.info("{}: KV unavailable ({}); retrying next tick", node.id(), e.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops the work loop (waiting for a tick in progress); the node is the caller's to close. */
  @Override
  public void close() {
    worker.shutdown();
    try {
      if (!worker.awaitTermination(10, TimeUnit.SECONDS)) {
        worker.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * {@code EmbeddedService NODE_ID ID=HOST:PORT,... DATA_DIR LEDGER_FILE}, with {@code
   * BATON_CLUSTER_SECRET_FILE} naming the cluster secret every node shares (the Raft port is
   * authenticated with keys derived from it), and {@code BATON_BOOTSTRAP=true} on the first start
   * of a new cluster only (a node refuses an empty data directory otherwise).
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println(
          "usage: EmbeddedService NODE_ID ID=HOST:PORT[,ID=HOST:PORT...] DATA_DIR LEDGER_FILE");
      System.exit(2);
    }
    List<Member> members = new ArrayList<>();
    for (String m : args[1].split(",")) {
      int eq = m.indexOf('=');
      if (eq <= 0) {
        System.err.println("member '" + m + "' is not ID=HOST:PORT");
        System.exit(2);
      }
      members.add(Member.voter(m.substring(0, eq), m.substring(eq + 1)));
    }
    String secret = System.getenv("BATON_CLUSTER_SECRET_FILE");
    if (secret == null || secret.isBlank()) {
      System.err.println(
          "set BATON_CLUSTER_SECRET_FILE to a file that every node shares, made once with:"
              + " openssl rand -base64 32 > cluster.secret");
      System.exit(2);
    }
    BatonNode node =
        BatonNode.builder()
            .clusterId("embedded-example")
            .nodeId(args[0])
            .members(members)
            .dataDir(Path.of(args[2]))
            .clusterSecret(Path.of(secret))
            .bootstrap("true".equals(System.getenv("BATON_BOOTSTRAP")))
            .build();
    node.start();
    EmbeddedService service = new EmbeddedService(node, Path.of(args[3])).start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  service.close();
                  node.close();
                }));
    Thread.currentThread().join();
  }
}
