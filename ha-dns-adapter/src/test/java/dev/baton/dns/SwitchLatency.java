package dev.baton.dns;

import dev.baton.dns.testing.BindServer;
import java.util.Arrays;

/**
 * Measures how long a switch takes against a local BIND 9: the whole promotion (fence read, UPDATE,
 * verification) with two nodes taking turns. Not a test; run it by hand:
 *
 * <pre>
 * java -cp ha-dns-adapter/target/test-classes:ha-dns-adapter/target/classes:$(cat cp.txt) \
 *     dev.baton.dns.SwitchLatency 500
 * </pre>
 */
public final class SwitchLatency {
  private SwitchLatency() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    try (BindServer bind = BindServer.start()) {
      DnsSwitch[] nodes = {
        DnsSwitch.builder()
            .server(bind.host(), bind.port())
            .zone(bind.zone())
            .tsig(bind.key())
            .address("app", "192.0.2.1")
            .build(),
        DnsSwitch.builder()
            .server(bind.host(), bind.port())
            .zone(bind.zone())
            .tsig(bind.key())
            .address("app", "192.0.2.2")
            .build()
      };
      int warmup = Math.max(20, n / 10);
      long[] micros = new long[n];
      long token = 1;
      for (int i = 0; i < warmup + n; i++) {
        DnsSwitch s = nodes[i % 2];
        long start = System.nanoTime();
        s.promote(TestContext.promote(token++, "node-" + (i % 2)));
        long took = (System.nanoTime() - start) / 1000;
        if (i >= warmup) {
          micros[i - warmup] = took;
        }
      }
      Arrays.sort(micros);
      System.out.printf(
          "promotions=%d (after %d warm-up) against named on 127.0.0.1, TCP, hmac-sha256:"
              + " p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms%n",
          n,
          warmup,
          micros[n / 2] / 1000.0,
          micros[(int) (n * 0.9)] / 1000.0,
          micros[(int) Math.min(n - 1, Math.round(n * 0.99))] / 1000.0,
          micros[n - 1] / 1000.0);
    }
  }
}
