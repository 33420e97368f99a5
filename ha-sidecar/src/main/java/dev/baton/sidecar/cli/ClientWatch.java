package dev.baton.sidecar.cli;

import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.WatchEvent;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link KeyValueStore.Watch} over the control API's WatchKeys stream, for a store that reaches
 * the cluster as a client ({@link PgGuardCommand.ClientStore}). It watches one endpoint at a time;
 * when the stream fails it goes on at the next endpoint (backing off from 100 ms to 2 s), resuming
 * after the revision of the last change it delivered, as {@code baton watch} does. Where that is
 * not possible (nothing delivered yet, the watch having begun "from now", or the node cannot replay
 * that far back), it re-reads the keys under the prefix and delivers each as a put: the listener
 * sees every key's latest value, but not a key deleted in the gap. Events go to the listener on the
 * executor, in the order the stream delivered them.
 */
final class ClientWatch implements KeyValueStore.Watch {
  private static final Logger LOG = LoggerFactory.getLogger(ClientWatch.class);

  /** What the stream delivered: an event, or the failure that ended it. */
  private record Item(WatchEvent event, Throwable failure) {}

  private final BatonClient client;
  private final String prefix;
  private final Executor executor;
  private final Consumer<KvEvent> listener;
  private final Thread thread;
  private volatile boolean closed;
  // The revision of the last change delivered (0: none yet); read and written by the watch thread.
  private long last;

  private ClientWatch(
      BatonClient client, String prefix, Executor executor, Consumer<KvEvent> listener) {
    this.client = client;
    this.prefix = prefix;
    this.executor = executor;
    this.listener = listener;
    this.thread = new Thread(this::run, "baton-client-watch-" + prefix);
    thread.setDaemon(true);
  }

  /** Starts watching the keys under {@code prefix}, from now. */
  static ClientWatch start(
      BatonClient client, String prefix, Executor executor, Consumer<KvEvent> listener) {
    ClientWatch w = new ClientWatch(client, prefix, executor, listener);
    w.thread.start();
    return w;
  }

  private void run() {
    try {
      resume(
          client,
          prefix,
          0,
          () -> closed,
          new Handler() {
            @Override
            public boolean onEvent(WatchEvent event) {
              // Without roles the stream carries key changes only.
              event
                  .entry()
                  .ifPresent(
                      e ->
                          deliver(
                              new KvEvent(
                                  event.type() == WatchEvent.Type.DELETE
                                      ? KvEvent.Type.DELETE
                                      : KvEvent.Type.PUT,
                                  e,
                                  event.revision())));
              return true;
            }

            @Override
            public long onCannotReplay(String endpoint, long last) {
              LOG.warn(
                  "watch of '{}' at {}: cannot replay after revision {}; re-reading the keys",
                  prefix,
                  endpoint,
                  last);
              resync();
              return ClientWatch.this.last;
            }

            @Override
            public long onStreamFailed(String endpoint, String message, long last) {
              LOG.warn(
                  "watch of '{}' at {}: {}; going on at the next endpoint{}",
                  prefix,
                  endpoint,
                  message,
                  last > 0 ? " after revision " + last : ", re-reading the keys");
              // Watching "from now" again would miss what changed in the gap.
              if (last == 0) {
                resync();
              }
              return ClientWatch.this.last;
            }
          });
    } catch (InterruptedException e) {
      // Closed.
    }
  }

  /** What {@link #resume} reports to its caller; called on the thread that runs it. */
  interface Handler {
    /** A change under the prefix, in the stream's order; false ends the watch. */
    boolean onEvent(WatchEvent event) throws InterruptedException;

    /**
     * The node cannot replay the changes after {@code last} (a key was deleted since); returns the
     * revision to go on after (at least the oldest replayable one is taken anyway).
     */
    long onCannotReplay(String endpoint, long last);

    /**
     * The stream at {@code endpoint} failed or could not be opened; the watch goes on at the next
     * endpoint after a back-off. Returns the revision to go on after.
     */
    long onStreamFailed(String endpoint, String message, long last);
  }

  /**
   * The resume loop of a watch over the control API's WatchKeys stream, shared by this class and
   * {@code baton watch}: one endpoint at a time from {@code after} (0: from now); on a failed
   * stream the next endpoint after a back-off from 100 ms to 2 s, resuming after the revision of
   * the last event; where the node cannot replay that far back, the handler re-reads and the watch
   * goes on after the oldest replayable revision. Runs until {@code stop} says so or the handler
   * ends it; an interrupt ends it with {@link InterruptedException}.
   */
  static void resume(
      BatonClient client, String prefix, long after, BooleanSupplier stop, Handler handler)
      throws InterruptedException {
    resume(client, prefix, after, false, stop, handler);
  }

  /**
   * As {@link #resume(BatonClient, String, long, BooleanSupplier, Handler)}; with {@code roles},
   * the stream carries the changes of the active too (ACTIVATED events, whose revision is the
   * activation's token), so a watch that resumes after the last event misses no role change.
   */
  static void resume(
      BatonClient client,
      String prefix,
      long after,
      boolean roles,
      BooleanSupplier stop,
      Handler handler)
      throws InterruptedException {
    List<String> endpoints = client.endpoints();
    long last = after;
    int next = 0;
    long backoffMillis = 100;
    while (!stop.getAsBoolean()) {
      String endpoint = endpoints.get(next % endpoints.size());
      BlockingQueue<Item> items = new LinkedBlockingQueue<>();
      String failure;
      try (AutoCloseable stream =
          client.watchKeyChanges(
              endpoint,
              prefix,
              last,
              roles,
              e -> items.add(new Item(e, null)),
              t -> items.add(new Item(null, t)))) {
        failure = null;
        while (failure == null && !stop.getAsBoolean()) {
          Item item = items.poll(1, TimeUnit.SECONDS);
          if (item == null) {
            continue;
          }
          if (item.failure() == null) {
            backoffMillis = 100;
            last = Math.max(last, item.event().revision());
            if (!handler.onEvent(item.event())) {
              return;
            }
            continue;
          }
          OptionalLong floor = BatonClient.oldestReplayable(item.failure());
          if (floor.isPresent()) {
            last = Math.max(handler.onCannotReplay(endpoint, last), floor.getAsLong());
            break;
          }
          failure = item.failure().getMessage();
        }
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        if (stop.getAsBoolean()) {
          return;
        }
        failure = e.getMessage() != null ? e.getMessage() : e.toString();
      }
      if (failure != null && !stop.getAsBoolean()) {
        last = Math.max(last, handler.onStreamFailed(endpoint, failure, last));
        next++;
        Thread.sleep(backoffMillis);
        backoffMillis = Math.min(backoffMillis * 2, 2000);
      }
    }
  }

  /** Delivers every key under the prefix as it is now, as a put, and goes on after the newest. */
  private void resync() {
    try {
      for (KvEntry e : client.list(prefix)) {
        deliver(new KvEvent(KvEvent.Type.PUT, e, e.revision()));
      }
    } catch (RuntimeException e) {
      LOG.warn("watch of '{}': cannot re-read the keys: {}", prefix, e.getMessage());
    }
  }

  private void deliver(KvEvent event) {
    last = Math.max(last, event.revision());
    executor.execute(
        () -> {
          if (!closed) {
            listener.accept(event);
          }
        });
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }
}
