package dev.baton.dns;

import dev.baton.testing.dns.BindServer;
import dev.baton.testing.steps.TestStepContext;
import java.util.Arrays;

/**
 * Measures how long a switch takes against a local BIND 9: the whole promotion (fence read, UPDATE,
 * verification) with two nodes taking turns. With the argument {@code secondary}, a BIND secondary
 * (NOTIFY, notify-delay 0, IXFR) is added and verification waits for it too. Not a test; run it by
 * hand (see the module README).
 */
public final class SwitchLatency {
  private SwitchLatency() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    boolean withSecondary = args.length > 1 && args[1].equals("secondary");
    try (BindServer bind = BindServer.start();
        BindServer secondary =
            withSecondary ? BindServer.builder().secondaryOf(bind).start() : null) {
      if (secondary != null) {
        bind.notifyAlso(secondary.port());
      }
      DnsSwitch[] nodes = new DnsSwitch[2];
      for (int i = 0; i < 2; i++) {
        DnsSwitch.Builder b =
            DnsSwitch.builder()
                .server(bind.host(), bind.port())
                .zone(bind.zone())
                .tsig(ServerKeys.updateKey(bind))
                .address("app", "192.0.2." + (i + 1));
        if (secondary != null) {
          b.verifyOn(bind.host(), bind.port()).verifyOn(secondary.host(), secondary.port());
        }
        nodes[i] = b.build();
      }
      int warmup = Math.max(20, n / 10);
      long[] micros = new long[n];
      long token = 1;
      for (int i = 0; i < warmup + n; i++) {
        DnsSwitch s = nodes[i % 2];
        long start = System.nanoTime();
        s.promote(TestStepContext.promote(token++, "node-" + (i % 2)));
        long took = (System.nanoTime() - start) / 1000;
        if (i >= warmup) {
          micros[i - warmup] = took;
        }
      }
      Arrays.sort(micros);
      System.out.printf(
          "promotions=%d (after %d warm-up), named on 127.0.0.1, TCP, hmac-sha256, verified on %s:"
              + " p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms%n",
          n,
          warmup,
          secondary == null ? "the primary" : "primary + secondary",
          micros[n / 2] / 1000.0,
          micros[(int) (n * 0.9)] / 1000.0,
          micros[(int) Math.min(n - 1, Math.round(n * 0.99))] / 1000.0,
          micros[n - 1] / 1000.0);
    }
  }
}
