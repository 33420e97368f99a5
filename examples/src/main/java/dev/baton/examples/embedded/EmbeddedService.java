package dev.baton.examples.embedded;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonException;
import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.Member;
import dev.baton.core.NotActiveException;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small service that embeds a Baton node and does real work only while it is active: every tick
 * it appends the next line {@code token=T seq=S node=N} to a ledger that the cluster's KV store
 * holds, one key per line ({@code ledger/0000000000000000017}).
 *
 * <p>Why the write itself is fenced. {@link ActiveContext#checkLease()} says the node held the role
 * a moment ago; a pause between that check and the write (a GC pause, a stopped VM, a slow disk)
 * can outlive the lease, and the write then arrives after a newer active has started. The lease
 * cannot prevent that; only a check that the cluster makes as it applies the write can (invariant
 * I3). So a line is written in one compare-and-set that the cluster applies atomically:
 *
 * <ol>
 *   <li>Line S is written only if key S is absent: each sequence number is written once, and a
 *       writer's whole effect is that one write, so nothing is left half done (no gap).
 *   <li>A writer moves past a taken slot only if the line there carries a token no newer than its
 *       own; a newer token there means a newer active has written, and this activation stops. Every
 *       slot up to a line is taken when that line is written, so once the new active has written
 *       its first line, an older activation finds every slot it can reach taken and cannot move
 *       past the new active's line: its write is refused, however late it arrives. Tokens in the
 *       ledger therefore never go down.
 * </ol>
 *
 * <p>The KV store is for small state (every node holds all of it in memory): a real ledger belongs
 * in a database written through the same kind of fence (ha-postgres-adapter's {@code
 * FencedDataSource}, or the SQL fence protocol in docs/fence-protocol.md). Run three of these
 * services (see examples/README.md):
 *
 * <pre>
 * java -cp ... dev.baton.examples.embedded.EmbeddedService n1 \
 *     n1=127.0.0.1:7401,n2=127.0.0.1:7402,n3=127.0.0.1:7403 /tmp/emb/n1
 * </pre>
 */
public final class EmbeddedService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedService.class);
  static final String PREFIX = "ledger/";

  private final BatonNode node;
  private final ScheduledExecutorService worker;
  private volatile long writes;
  private volatile long refusals;
  private long activation; // the token the cursor below belongs to
  private long next; // the slot this activation tries next
  private long refusedToken; // an activation the fence has refused: it writes no more

  /**
   * Runs between the lease check and the write, with the line about to be written. Anything can
   * stop a thread there; tests stop it on purpose to show that the fence, not the lease check,
   * keeps a late write out.
   */
  volatile Consumer<String> beforeWrite = line -> {};

  public EmbeddedService(BatonNode node) {
    this.node = node;
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

  /** Lines this instance has written. */
  public long writes() {
    return writes;
  }

  /** Writes the cluster refused because a newer active had written the slot. */
  public long refusals() {
    return refusals;
  }

  /** The ledger's lines in sequence order, read from the cluster. */
  public static List<String> ledger(KeyValueStore kv) {
    return kv.list(PREFIX).stream().map(KvEntry::valueAsString).toList();
  }

  private void tick() {
    Optional<ActiveContext> active = node.activeContext();
    if (active.isEmpty() || active.get().token() == refusedToken) {
      return; // standby, or an activation the fence has ended: no work
    }
    ActiveContext ctx = active.get();
    KeyValueStore kv = node.kv();
    try {
      if (activation != ctx.token()) {
        // A new activation starts at the last line written (it checks that line's token below).
        List<KvEntry> lines = kv.list(PREFIX);
        next = lines.isEmpty() ? 1 : seqOf(lines.get(lines.size() - 1).valueAsString());
        activation = ctx.token();
      }
      while (true) {
        String line = "token=" + ctx.token() + " seq=" + next + " node=" + node.id();
        ctx.checkLease();
        beforeWrite.accept(line);
        // The fenced write: the cluster creates the line only if its slot is still empty.
        if (kv.compareAndSet(key(next), null, line.getBytes(UTF_8)).isPresent()) {
          writes++;
          next++;
          LOG.info("{}: wrote {}", node.id(), line);
          return;
        }
        String taken = kv.get(key(next)).orElseThrow().valueAsString();
        if (tokenOf(taken) > ctx.token()) {
          refusals++;
          refusedToken = ctx.token();
          LOG.warn(
              "{}: refused: slot {} holds '{}', written by a newer active than token {}; stopping",
              node.id(),
              next,
              taken,
              ctx.token());
          return;
        }
        next++; // an older activation's line, or ours whose reply was lost: the next slot
      }
    } catch (NotActiveException e) {
      LOG.info("{}: lease ended before the write: {}", node.id(), e.getMessage());
    } catch (BatonException e) {
      LOG.info("{}: KV unavailable ({}); retrying next tick", node.id(), e.getMessage());
    }
  }

  /** Keys sort as numbers do, so {@link KeyValueStore#list} returns the lines in order. */
  private static String key(long seq) {
    return PREFIX + String.format("%019d", seq);
  }

  private static long tokenOf(String line) {
    return Long.parseLong(line.substring("token=".length(), line.indexOf(' ')));
  }

  private static long seqOf(String line) {
    int at = line.indexOf(" seq=") + " seq=".length();
    return Long.parseLong(line.substring(at, line.indexOf(' ', at)));
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
   * {@code EmbeddedService NODE_ID ID=HOST:PORT,... DATA_DIR}, with {@code
   * BATON_CLUSTER_SECRET_FILE} naming the cluster secret every node shares (the Raft port is
   * authenticated with keys derived from it), and {@code BATON_BOOTSTRAP=true} on the first start
   * of a new cluster only (a node refuses an empty data directory otherwise).
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: EmbeddedService NODE_ID ID=HOST:PORT[,ID=HOST:PORT...] DATA_DIR");
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
    EmbeddedService service = new EmbeddedService(node).start();
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
