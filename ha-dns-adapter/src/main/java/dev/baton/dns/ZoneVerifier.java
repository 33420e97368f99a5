package dev.baton.dns;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * {@link DnsSwitch}'s verification: after the update, polls the verification servers, all at once,
 * until a quorum of them answers with the new records and token, within a deadline.
 */
final class ZoneVerifier {
  static final int QUORUM_ALL = -1;
  static final int QUORUM_MAJORITY = -2;

  private final ZoneReader reader;
  private final Endpoint primary;
  private final Name zone;
  private final Name fenceName;
  private final int attempts;
  private final String actionName;
  private final Map<Name, List<Record>> names;
  private final List<Endpoint> verifyServers;
  private final int verifyQuorum;
  private final int nameServerPort;

  ZoneVerifier(
      ZoneReader reader,
      String actionName,
      Map<Name, List<Record>> names,
      List<Endpoint> verifyServers,
      int verifyQuorum,
      int nameServerPort) {
    this.reader = reader;
    this.primary = reader.primary();
    this.zone = reader.zone();
    this.fenceName = reader.fenceName();
    this.attempts = reader.attempts();
    this.actionName = actionName;
    this.names = names;
    this.verifyServers = List.copyOf(verifyServers);
    this.verifyQuorum = verifyQuorum;
    this.nameServerPort = nameServerPort;
  }

  /**
   * How many verification servers must show a switch: {@code "all"} (the default), {@code
   * "majority"} or a number.
   */
  String quorumSetting() {
    return verifyQuorum == QUORUM_ALL
        ? "all"
        : verifyQuorum == QUORUM_MAJORITY ? "majority" : Integer.toString(verifyQuorum);
  }

  /**
   * How many of {@code targets} must confirm: {@link DnsSwitch.Builder#verifyQuorum(int)}, all of
   * them by default, a majority with {@link DnsSwitch.Builder#verifyQuorumMajority()}.
   */
  int quorumOf(int targets) {
    if (verifyQuorum == QUORUM_ALL) {
      return targets;
    }
    if (verifyQuorum == QUORUM_MAJORITY) {
      return targets / 2 + 1;
    }
    return verifyQuorum;
  }

  /** A description of the quorum setting for messages, e.g. {@code "2 of 3 (verifyQuorum 2)"}. */
  String describeQuorum(int needed, int targets) {
    String setting = verifyQuorum == QUORUM_ALL ? "all, the default" : quorumSetting();
    return needed + " of " + targets + " (verifyQuorum " + setting + ")";
  }

  /**
   * Polls every verification server at once until {@link #quorumOf} of them answer with the new
   * records and token. A server that does not answer, or answers something else, before the
   * deadline has not confirmed; it never counts as confirming. Returns the servers that confirmed.
   */
  List<Endpoint> verify(long token, Deadline deadline) throws InterruptedException {
    List<Endpoint> targets = verifyTargets(deadline);
    int needed = quorumOf(targets.size());
    if (needed > targets.size()) {
      throw new DnsVerificationException(
          "verifyQuorum "
              + verifyQuorum
              + " is more than the "
              + targets.size()
              + " verification servers "
              + targets
              + " the zone's NS records name; the update was applied on "
              + primary
              + " but cannot be verified",
          primary.toString(),
          zone.toString(),
          null);
    }
    if (targets.size() == 1) {
      verifyOn(targets.get(0), token, deadline);
      return targets;
    }
    ExecutorService pool =
        Executors.newFixedThreadPool(
            targets.size(),
            r -> {
              Thread t = new Thread(r, "baton-dns-verify-" + actionName);
              t.setDaemon(true);
              return t;
            });
    try {
      CompletionService<Endpoint> done = new ExecutorCompletionService<>(pool);
      Map<Future<Endpoint>, Endpoint> futures = new LinkedHashMap<>();
      for (Endpoint target : targets) {
        futures.put(
            done.submit(
                () -> {
                  verifyOn(target, token, deadline);
                  return target;
                }),
            target);
      }
      List<Endpoint> confirmed = new ArrayList<>();
      Map<Endpoint, DnsException> failed = new LinkedHashMap<>();
      for (int i = 0; i < targets.size(); i++) {
        Future<Endpoint> f = done.take();
        Endpoint target = Objects.requireNonNull(futures.get(f));
        try {
          confirmed.add(f.get());
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof DnsStaleTokenException) {
            // A newer active has taken over: nothing to wait for.
            throw (DnsStaleTokenException) cause;
          }
          failed.put(
              target,
              cause instanceof DnsException
                  ? (DnsException) cause
                  : new DnsVerificationException(
                      "verification on " + target + " failed: " + cause,
                      target.toString(),
                      zone.toString(),
                      cause));
        }
        if (confirmed.size() >= needed) {
          return List.copyOf(confirmed);
        }
        if (targets.size() - failed.size() < needed) {
          break;
        }
      }
      throw quorumNotMet(
          "the update was applied on " + primary + ", but ",
          "to show it before the verification deadline",
          targets,
          needed,
          confirmed,
          failed);
    } finally {
      pool.shutdownNow();
    }
  }

  DnsVerificationException quorumNotMet(
      String prefix,
      String what,
      List<Endpoint> targets,
      int needed,
      List<Endpoint> confirmed,
      Map<Endpoint, DnsException> failed) {
    Endpoint first = failed.keySet().iterator().next();
    StringBuilder m = new StringBuilder();
    m.append(prefix)
        .append("verification needs ")
        .append(describeQuorum(needed, targets.size()))
        .append(" servers ")
        .append(what)
        .append(", ")
        .append(confirmed.size())
        .append(confirmed.isEmpty() ? " did" : " did: " + confirmed)
        .append("; not confirmed by ")
        .append(new ArrayList<>(failed.keySet()))
        .append(". ");
    List<String> reasons = new ArrayList<>();
    failed.values().forEach(e -> reasons.add(e.getMessage()));
    m.append(String.join(" | ", reasons));
    return new DnsVerificationException(
        m.toString(), first.toString(), zone.toString(), failed.get(first));
  }

  List<Endpoint> verifyTargets(Deadline deadline) throws InterruptedException {
    if (!verifyServers.isEmpty()) {
      return verifyServers;
    }
    if (nameServerPort <= 0) {
      return List.of(primary);
    }
    Set<Endpoint> out = new LinkedHashSet<>();
    List<Record> ns =
        reader.query(primary, zone, Type.NS, true, attempts, deadline, "the NS lookup");
    for (Record r : ns) {
      Name host = ((NSRecord) r).getTarget();
      List<InetAddress> addresses = new ArrayList<>();
      if (host.subdomain(zone)) {
        for (int type : new int[] {Type.A, Type.AAAA}) {
          for (Record a :
              reader.query(primary, host, type, true, attempts, deadline, "the NS address")) {
            addresses.add(
                a instanceof ARecord ? ((ARecord) a).getAddress() : ((AAAARecord) a).getAddress());
          }
        }
      } else {
        try {
          addresses.addAll(List.of(InetAddress.getAllByName(host.toString(true))));
        } catch (UnknownHostException e) {
          throw new DnsVerificationException(
              "cannot resolve name server " + host + " of zone " + zone + ": " + e.getMessage(),
              host.toString(),
              zone.toString(),
              e);
        }
      }
      for (InetAddress a : addresses) {
        out.add(new Endpoint(a.getHostAddress(), nameServerPort));
      }
    }
    if (out.isEmpty()) {
      throw new DnsVerificationException(
          "zone " + zone + " on " + primary + " lists no name server with an address to verify on",
          primary.toString(),
          zone.toString(),
          null);
    }
    return List.copyOf(out);
  }

  private void verifyOn(Endpoint server, long token, Deadline deadline)
      throws InterruptedException {
    String lastAnswer = null;
    DnsException lastError = null;
    // Polls are cheap next to what they wait for (clients still using the old answer): poll
    // often, so that verification adds little to the switch.
    long pollMillis = 10;
    while (true) {
      try {
        // Unsigned: secondaries need not know the update key, and a forged answer here can only
        // make verification fail, never move the fence.
        // One try per poll: the poll loop is the retry.
        FenceState f = reader.readFence(server, false, 1, deadline);
        if (f.token() > token) {
          throw new DnsStaleTokenException(
              reader.fenceResource(),
              token,
              f.token(),
              -1,
              -1,
              "after this node's update, "
                  + server
                  + " already answers "
                  + fenceName
                  + " TXT token="
                  + f.token()
                  + ": a newer active has taken over");
        }
        List<String> diffs = new ArrayList<>();
        if (f.token() != token) {
          diffs.add(fenceName + " TXT " + f.describe() + " (expected token=" + token + ")");
        }
        for (Map.Entry<Name, List<Record>> e : names.entrySet()) {
          for (int type : ZoneReader.MANAGED_TYPES) {
            Set<String> want = rdata(e.getValue(), type);
            Set<String> have =
                rdata(
                    reader.query(server, e.getKey(), type, false, 1, deadline, "verification"),
                    type);
            if (!want.equals(have)) {
              diffs.add(
                  e.getKey() + " " + Type.string(type) + " " + have + " (expected " + want + ")");
            }
          }
        }
        if (diffs.isEmpty()) {
          return;
        }
        lastAnswer = String.join("; ", diffs);
        lastError = null;
      } catch (DnsException e) {
        // A secondary may still be loading the zone (SERVFAIL, REFUSED, no AA) or be briefly
        // unreachable: keep polling until the deadline, and report the last error then.
        lastError = e;
      }
      // Stop while a query still has time to be answered, so that the report shows an answer
      // rather than a query the deadline cut short.
      if (deadline.remaining().compareTo(Duration.ofMillis(50)) < 0) {
        StringBuilder what = new StringBuilder();
        what.append(lastAnswer == null ? "it never answered" : "it last answered: " + lastAnswer);
        if (lastError != null) {
          what.append("; the last query failed: ").append(lastError.getMessage());
        }
        throw new DnsVerificationException(
            "the update was applied on "
                + primary
                + ", but "
                + server
                + " did not answer with it before the verification deadline; "
                + what,
            server.toString(),
            zone.toString(),
            lastError);
      }
      long sleep = Math.min(pollMillis, Math.max(1, deadline.remaining().toMillis() - 50));
      // A pause between polls; each poll re-reads the state.
      Thread.sleep(sleep);
      pollMillis = Math.min(pollMillis * 2, 100);
    }
  }

  private static Set<String> rdata(List<Record> records, int type) {
    Set<String> out = new TreeSet<>();
    for (Record r : records) {
      if (r.getType() == type) {
        out.add(r.rdataToString());
      }
    }
    return out;
  }
}
