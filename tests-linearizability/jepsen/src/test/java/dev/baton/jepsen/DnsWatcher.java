package dev.baton.jepsen;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * Workload (e): reads the DNS fence record ({@code _baton-fence.app.<zone>} TXT, {@code "token=T"
 * "node=N"}) and the switched name on the BIND server every 100 ms, so the check can show the fence
 * only moved forward and the name followed it.
 */
final class DnsWatcher implements AutoCloseable {
  /** One reading: the fence's token and node, the name's address, or why there was no answer. */
  record Observation(long time, long token, String node, String address, String error) {}

  private final String server;
  private final String zone;
  private final List<Observation> observations = new ArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;

  DnsWatcher(String server, String zone) {
    this.server = server;
    this.zone = zone;
    this.thread = new Thread(this::run, "jepsen-dns-watch");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  synchronized List<Observation> observations() {
    return List.copyOf(observations);
  }

  private void run() {
    SimpleResolver resolver;
    Name fence;
    Name app;
    try {
      resolver = new SimpleResolver(InetAddress.getByName(server));
      resolver.setTimeout(Duration.ofMillis(500));
      fence = Name.fromString("_baton-fence.app." + zone + ".");
      app = Name.fromString("app." + zone + ".");
    } catch (Exception e) {
      throw new IllegalStateException("DNS watcher: " + e, e);
    }
    while (running) {
      long t = System.nanoTime();
      Observation o;
      try {
        // Fence, name, fence again: the name is attributed to the fence's node only when both
        // fence readings agree (the two change together, but two queries are not one reading).
        String[] before = readFence(resolver, fence);
        Message a = resolver.send(Message.newQuery(Record.newRecord(app, Type.A, DClass.IN)));
        String[] after = readFence(resolver, fence);
        long token = Long.parseLong(before[0]);
        String node = before[1];
        String address = "";
        if (before[0].equals(after[0])) {
          for (Record r : a.getSection(Section.ANSWER)) {
            if (r instanceof ARecord ar) {
              address = ar.getAddress().getHostAddress();
            }
          }
        }
        o = new Observation(t, token, node, address, null);
      } catch (Exception e) {
        o = new Observation(t, -1, "", "", e.getClass().getSimpleName() + ": " + e.getMessage());
      }
      synchronized (this) {
        observations.add(o);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
    }
  }

  private static String[] readFence(SimpleResolver resolver, Name fence) throws Exception {
    Message txt = resolver.send(Message.newQuery(Record.newRecord(fence, Type.TXT, DClass.IN)));
    long token = 0;
    String node = "";
    if (txt.getRcode() == Rcode.NOERROR) {
      for (Record r : txt.getSection(Section.ANSWER)) {
        if (r instanceof TXTRecord tr) {
          for (String s : tr.getStrings()) {
            if (s.startsWith("token=")) {
              token = Long.parseLong(s.substring(6));
            } else if (s.startsWith("node=")) {
              node = s.substring(5);
            }
          }
        }
      }
    } else if (txt.getRcode() != Rcode.NXDOMAIN) {
      throw new IllegalStateException("TXT query answered " + Rcode.string(txt.getRcode()));
    }
    return new String[] {Long.toString(token), node};
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.join(5000);
  }
}
