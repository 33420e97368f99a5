package dev.baton.dns;

import dev.baton.core.ActionContext;
import dev.baton.core.BatonException;
import dev.baton.core.PromotionAction;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Address;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/**
 * A {@link PromotionAction} that points DNS names at this node by RFC 2136 dynamic update, signed
 * with TSIG, as a compare-and-set on a fence TXT record.
 *
 * <p>Each promotion reads the fence record ({@code _baton-fence.<name> TXT "token=<n>"}) from the
 * primary server and refuses, without sending anything, if it already holds a higher token than
 * this node's. Otherwise it sends <em>one</em> UPDATE message whose prerequisite quotes the fence
 * RRset exactly as read (or, the first time, requires that it does not exist), and which replaces
 * the fence with this node's token and rewrites every configured name (A, AAAA or CNAME). The
 * server evaluates the prerequisite and applies the update as one atomic step (RFC 2136 §3.2,
 * §3.7), so the fence only ever grows and the names only ever follow the fence: an update delayed
 * from a stale active fails its prerequisite and changes nothing, however late it arrives
 * (invariant I3 holds without any timing assumption).
 *
 * <p>After the update it polls the verification servers, all at once, until a quorum of them
 * ({@link Builder#verifyQuorum(int)}, all by default) answers with the new records and token,
 * within a deadline. A server that does not answer in time has not confirmed.
 *
 * <p>It does not consult {@link ActionContext#isLeaseValid()}: the compare-and-set makes the change
 * safe for a node whose lease has lapsed too, because a newer active's higher token wins at the
 * server. Nor does it skip work on {@link ActionContext#lastCompletedToken()}: re-running with the
 * same token rewrites the same records, which is cheap and repairs a hand-edited zone.
 *
 * <p>{@link #demote} does nothing on purpose: removing the records would leave clients with
 * NXDOMAIN, which resolvers cache; the next active overwrites the names instead.
 */
public final class DnsSwitch implements PromotionAction {
  private static final Logger LOG = LoggerFactory.getLogger(DnsSwitch.class);
  private static final int[] MANAGED_TYPES = {Type.A, Type.AAAA, Type.CNAME};
  private static final int MAX_CAS_ROUNDS = 8;
  static final int QUORUM_ALL = -1;
  static final int QUORUM_MAJORITY = -2;

  private final String actionName;
  private final Endpoint primary;
  private final Name zone;
  private final TsigKey key;
  private final Name fenceName;
  private final Map<Name, List<Record>> names;
  private final long ttlSeconds;
  private final List<Endpoint> verifyServers;
  private final int verifyQuorum;
  private final int nameServerPort;
  private final int attempts;
  private final Duration verifyTimeout;
  private final Duration operationTimeout;
  private final DnsClient client;
  private final DnsFence fence;
  private final String movePurpose;

  private DnsSwitch(Builder b, Name zone, TsigKey key, Name fence, Map<Name, List<Record>> names) {
    this.actionName = b.actionName;
    this.primary = new Endpoint(b.serverHost, b.serverPort);
    this.zone = zone;
    this.key = key;
    this.fenceName = fence;
    this.names = names;
    this.ttlSeconds = b.ttl.getSeconds();
    this.verifyServers = List.copyOf(b.verifyServers);
    this.verifyQuorum = b.verifyQuorum;
    this.nameServerPort = b.nameServerPort;
    this.attempts = b.attempts;
    this.verifyTimeout = b.verifyTimeout;
    this.operationTimeout = b.operationTimeout;
    this.client = new DnsClient(zone.toString(), key, b.queryTimeout, b.retryBackoff, b.tcp);
    this.fence = new DnsFence(this);
    List<String> moved = new ArrayList<>();
    names.keySet().forEach(n -> moved.add(n.toString()));
    this.movePurpose = " to point " + String.join(", ", moved) + " at this node";
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return actionName;
  }

  /** The zone, with the trailing dot. */
  public String zone() {
    return zone.toString();
  }

  /** The fence TXT record's name, absolute. */
  public String fenceRecordName() {
    return fenceName.toString();
  }

  /** The primary server updates go to, as {@code host:port}. */
  public String server() {
    return primary.toString();
  }

  /** The names this switch rewrites, absolute. */
  public List<String> names() {
    List<String> out = new ArrayList<>();
    names.keySet().forEach(n -> out.add(n.toString()));
    return out;
  }

  /**
   * What each name points to once switched to this node, by absolute name, each record as its type
   * and data: {@code "A 10.0.1.5"}, {@code "CNAME east.example.com."}.
   */
  public Map<String, List<String>> targets() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    names.forEach(
        (name, records) -> {
          List<String> values = new ArrayList<>();
          records.forEach(r -> values.add(Type.string(r.getType()) + " " + r.rdataToString()));
          out.put(name.toString(), List.copyOf(values));
        });
    return Collections.unmodifiableMap(out);
  }

  /**
   * How many verification servers must show a switch: {@code "all"} (the default), {@code
   * "majority"} or a number.
   */
  public String verifyQuorum() {
    return verifyQuorum == QUORUM_ALL
        ? "all"
        : verifyQuorum == QUORUM_MAJORITY ? "majority" : Integer.toString(verifyQuorum);
  }

  /**
   * The fence alone, for the plan's fencing step: advancing it moves the fence TXT record (by the
   * same compare-and-set) without touching the names.
   */
  public DnsFence fence() {
    return fence;
  }

  /**
   * Points the configured names at this node and sets the fence to {@code context.token()}.
   * Idempotent: a retry with the same token, or a successor's run with a higher one, leaves the
   * zone as one run would.
   *
   * @throws DnsStaleTokenException the fence holds a higher token (before sending, or as the
   *     server's prerequisite check found)
   * @throws DnsAuthenticationException the TSIG key was rejected
   * @throws DnsRefusedException the zone does not accept this update
   * @throws DnsUnreachableException the primary did not answer
   * @throws DnsVerificationException an authoritative server did not show the change in time
   */
  @Override
  public void promote(ActionContext context) throws Exception {
    long token = requirePositive(context.token());
    Deadline deadline = contextDeadline(context);
    Logger log = context.log() != null ? context.log() : LOG;
    long start = System.nanoTime();
    FenceState replaced = compareAndSet(token, context.nodeId(), true, deadline, log);
    List<Endpoint> verified = verify(token, deadline.min(verifyTimeout));
    log.info(
        "dns: {} now point at this node (fence {} {} -> token={}, zone {} on {}, verified on {}"
            + " in {} ms)",
        names(),
        fenceName,
        replaced.describe(),
        token,
        zone,
        primary,
        verified,
        (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * Pre-flight, changing nothing: a signed read of the fence record on the primary (checks that the
   * server answers and accepts the TSIG key) and an unsigned read of the fence record and every
   * managed name on each verification server.
   */
  @Override
  public void preflight() throws InterruptedException {
    long start = System.nanoTime();
    Deadline deadline = Deadline.in(operationTimeout);
    FenceState fence = readFence(primary, true, deadline);
    List<Endpoint> targets = verifyTargets(deadline);
    int needed = quorumOf(targets.size());
    List<Endpoint> readable = new ArrayList<>();
    Map<Endpoint, DnsException> failed = new LinkedHashMap<>();
    for (Endpoint server : targets) {
      try {
        readFence(server, false, 1, deadline);
        for (Name name : names.keySet()) {
          for (int type : MANAGED_TYPES) {
            query(server, name, type, false, 1, deadline, "pre-flight");
          }
        }
        readable.add(server);
      } catch (DnsException e) {
        if (needed >= targets.size()) {
          throw e;
        }
        failed.put(server, e);
      }
    }
    if (readable.size() < needed) {
      throw quorumNotMet("pre-flight: ", "to be readable", targets, needed, readable, failed);
    }
    failed.forEach(
        (server, e) ->
            LOG.warn(
                "dns: pre-flight: verification server {} cannot be read ({}); the verify quorum"
                    + " {} is met without it",
                server,
                e.getMessage(),
                describeQuorum(needed, targets.size())));
    LOG.info(
        "dns: pre-flight: {} answers signed reads (fence {} {}); names readable on {} ({} ms)",
        primary,
        fenceName,
        fence.describe(),
        readable,
        (System.nanoTime() - start) / 1_000_000);
  }

  /** Does nothing; see the class comment for why the records are left in place. */
  @Override
  public void demote(ActionContext context) {}

  /** The token the fence record holds on the primary now, or 0 when there is none. */
  public long currentToken() throws InterruptedException {
    return readFence(primary, true, Deadline.in(operationTimeout)).token();
  }

  // ---------------------------------------------------------------------------------------------
  // Compare-and-set

  /** A read of the fence and the update built from it, not yet sent. */
  static final class Prepared {
    final long token;
    final FenceState seen;
    final Message update;
    final String purpose;

    Prepared(long token, FenceState seen, Message update, String purpose) {
      this.token = token;
      this.seen = seen;
      this.update = update;
      this.purpose = purpose;
    }
  }

  /**
   * Runs the compare-and-set until it is applied. Returns the fence state it replaced, or null when
   * only the fence was to move and it already held {@code token}.
   */
  FenceState compareAndSet(
      long token, String nodeId, boolean moveNames, Deadline deadline, Logger log)
      throws InterruptedException {
    for (int round = 1; ; round++) {
      Prepared p = prepare(token, nodeId, moveNames, deadline);
      if (p == null) {
        return null;
      }
      if (commit(p, deadline)) {
        return p.seen;
      }
      if (round >= MAX_CAS_ROUNDS || deadline.expired()) {
        throw new DnsException(
            "fence record "
                + fenceName
                + " on "
                + primary
                + " kept changing under tokens lower than "
                + token
                + " for "
                + round
                + " compare-and-set rounds; giving up this attempt",
            primary.toString(),
            zone.toString(),
            -1,
            null);
      }
      log.info(
          "dns: fence {} moved (to a token <= {}) between read and update; retrying",
          fenceName,
          token);
    }
  }

  /**
   * Reads the fence on the primary and builds the update, or returns null when only the fence is to
   * move and it already holds {@code token}.
   *
   * @throws DnsStaleTokenException when the fence holds a higher token: nothing is sent
   */
  Prepared prepare(long token, String nodeId, boolean moveNames, Deadline deadline)
      throws InterruptedException {
    // What the read is for goes into every error about it, so that a primary that does not answer
    // is reported with the names that could not move.
    String purpose = moveNames ? movePurpose : " to advance the fence to token=" + token;
    FenceState seen = readFence(primary, true, attempts, deadline, purpose);
    if (seen.token() > token) {
      throw new DnsStaleTokenException(
          resource(),
          token,
          seen.token(),
          -1,
          -1,
          "refused before sending any update: "
              + primary
              + " answered "
              + fenceName
              + " TXT token="
              + seen.token());
    }
    if (!moveNames && seen.token() == token) {
      return null;
    }
    Update update = new Update(zone);
    if (seen.absent()) {
      // The first switch ever: "RRset does not exist" makes two first-time writers race safely.
      update.absent(fenceName, Type.TXT);
    } else {
      // Value-dependent prerequisite: the server compares the whole RRset with these records.
      for (TXTRecord r : seen.records()) {
        update.present(
            Record.newRecord(fenceName, Type.TXT, DClass.IN, 0, r.rdataToWireCanonical()));
      }
    }
    update.delete(fenceName, Type.TXT);
    update.add(new TXTRecord(fenceName, DClass.IN, ttlSeconds, fenceStrings(token, nodeId)));
    if (moveNames) {
      for (Map.Entry<Name, List<Record>> e : names.entrySet()) {
        // All three types go, so that no A, AAAA or CNAME of a previous active survives next to
        // this node's records.
        for (int type : MANAGED_TYPES) {
          update.delete(e.getKey(), type);
        }
        for (Record r : e.getValue()) {
          update.add(r);
        }
      }
    }
    return new Prepared(token, seen, update, purpose);
  }

  /**
   * Sends a prepared update. Returns true when applied, false when its prerequisite failed because
   * the fence moved to a token that is not higher than ours (the caller reads again and retries).
   *
   * @throws DnsStaleTokenException when the prerequisite failed and the fence now holds a higher
   *     token: the update was delayed past a newer active's
   */
  boolean commit(Prepared p, Deadline deadline) throws InterruptedException {
    Message response;
    try {
      response =
          client.exchange(primary, p.update, true, attempts, deadline, "the update" + p.purpose);
    } catch (DnsAuthenticationException e) {
      if (e.rcode().orElse(-1) != Rcode.BADKEY) {
        throw e;
      }
      // The same key just signed the fence read and the server verified it, so the server knows
      // the key: BADKEY here is how Knot says its ACL does not let this key update the zone.
      throw new DnsRefusedException(
          primary
              + " refused the update of zone "
              + zone
              + " (NOTAUTH, TSIG BADKEY after the same key was accepted for the fence read): the"
              + " zone does not accept dynamic updates signed with TSIG key '"
              + key.name()
              + "'; allow them on the server (Knot: an acl with action update for this key on"
              + " the zone; BIND: allow-update or update-policy)",
          primary.toString(),
          zone.toString(),
          Rcode.NOTAUTH);
    }
    int rcode = response.getRcode();
    if (rcode == Rcode.NOERROR) {
      return true;
    }
    if (rcode != Rcode.NXRRSET && rcode != Rcode.YXRRSET) {
      throw new DnsException(
          primary + " answered the update of zone " + zone + " with " + Rcode.string(rcode),
          primary.toString(),
          zone.toString(),
          rcode,
          null);
    }
    FenceState now = readFence(primary, true, deadline);
    if (now.token() > p.token) {
      String expected =
          p.seen.absent()
              ? "no fence record " + fenceName + " TXT (first switch)"
              : "the fence record " + fenceName + " TXT to hold token=" + p.seen.token();
      throw new DnsStaleTokenException(
          resource(),
          p.token,
          now.token(),
          rcode,
          p.seen.absent() ? -1 : p.seen.token(),
          "the server rejected the update's prerequisite with "
              + Rcode.string(rcode)
              + ": it expected "
              + expected
              + ", but it now holds token="
              + now.token()
              + "; nothing was changed (a delayed update from a stale active)");
    }
    return false;
  }

  private String resource() {
    return "DNS fence " + fenceName + " TXT in zone " + zone + " on " + primary;
  }

  private static List<String> fenceStrings(long token, String nodeId) {
    List<String> strings = new ArrayList<>();
    strings.add("token=" + token);
    if (nodeId != null && !nodeId.isBlank()) {
      String n = nodeId.length() > 200 ? nodeId.substring(0, 200) : nodeId;
      strings.add("node=" + n);
    }
    return strings;
  }

  FenceState readFence(Endpoint server, boolean sign, Deadline deadline)
      throws InterruptedException {
    return readFence(server, sign, attempts, deadline);
  }

  private FenceState readFence(Endpoint server, boolean sign, int tries, Deadline deadline)
      throws InterruptedException {
    return readFence(server, sign, tries, deadline, "");
  }

  /** {@code purpose} ends the description of the read in messages, e.g. " to point x at ...". */
  private FenceState readFence(
      Endpoint server, boolean sign, int tries, Deadline deadline, String purpose)
      throws InterruptedException {
    List<Record> answer =
        query(server, fenceName, Type.TXT, sign, tries, deadline, "the fence read", purpose);
    List<TXTRecord> records = new ArrayList<>();
    for (Record r : answer) {
      records.add((TXTRecord) r);
    }
    if (records.isEmpty()) {
      return FenceState.ABSENT;
    }
    if (records.size() > 1) {
      throw unexpectedFence(server, records);
    }
    long token = -1;
    for (String s : records.get(0).getStrings()) {
      if (s.startsWith("token=")) {
        try {
          token = Long.parseLong(s.substring("token=".length()));
        } catch (NumberFormatException e) {
          throw unexpectedFence(server, records);
        }
      }
    }
    if (token < 0) {
      throw unexpectedFence(server, records);
    }
    return new FenceState(token, List.copyOf(records));
  }

  private DnsException unexpectedFence(Endpoint server, List<TXTRecord> records) {
    // Refusing is the safe choice: overwriting data we do not understand could lower the fence.
    return new DnsException(
        "fence record "
            + fenceName
            + " TXT on "
            + server
            + " holds data this adapter did not write: "
            + records
            + " (expected one TXT record \"token=<n>\"); fix or delete it by hand",
        server.toString(),
        zone.toString(),
        -1,
        null);
  }

  /** The answer's records of exactly this name and type, from an authoritative answer. */
  private List<Record> query(
      Endpoint server, Name name, int type, boolean sign, int tries, Deadline deadline, String what)
      throws InterruptedException {
    return query(server, name, type, sign, tries, deadline, what, "");
  }

  private List<Record> query(
      Endpoint server,
      Name name,
      int type,
      boolean sign,
      int tries,
      Deadline deadline,
      String what,
      String purpose)
      throws InterruptedException {
    Message q = Message.newQuery(Record.newRecord(name, type, DClass.IN));
    q.getHeader().unsetFlag(Flags.RD);
    String description = what + " of " + name + " " + Type.string(type) + purpose;
    Message response = client.exchange(server, q, sign, tries, deadline, description);
    int rcode = response.getRcode();
    if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
      throw new DnsException(
          server + " answered " + description + " with " + Rcode.string(rcode),
          server.toString(),
          zone.toString(),
          rcode,
          null);
    }
    if (!response.getHeader().getFlag(Flags.AA)) {
      // Only an authoritative answer says what the zone holds; a cached one may be stale.
      throw new DnsRefusedException(
          server
              + " answered "
              + description
              + " without the authoritative (AA) flag: it is not authoritative for zone "
              + zone,
          server.toString(),
          zone.toString(),
          Rcode.NOTAUTH);
    }
    List<Record> out = new ArrayList<>();
    for (Record r : response.getSection(Section.ANSWER)) {
      if (r.getType() == type && r.getName().equals(name)) {
        out.add(r);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Verification

  /**
   * How many of {@code targets} must confirm: {@link Builder#verifyQuorum(int)}, all of them by
   * default, a majority with {@link Builder#verifyQuorumMajority()}.
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
  private String describeQuorum(int needed, int targets) {
    String setting = verifyQuorum == QUORUM_ALL ? "all, the default" : verifyQuorum();
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
        Endpoint target = futures.get(f);
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

  private DnsVerificationException quorumNotMet(
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

  private List<Endpoint> verifyTargets(Deadline deadline) throws InterruptedException {
    if (!verifyServers.isEmpty()) {
      return verifyServers;
    }
    if (nameServerPort <= 0) {
      return List.of(primary);
    }
    Set<Endpoint> out = new LinkedHashSet<>();
    List<Record> ns = query(primary, zone, Type.NS, true, attempts, deadline, "the NS lookup");
    for (Record r : ns) {
      Name host = ((NSRecord) r).getTarget();
      List<InetAddress> addresses = new ArrayList<>();
      if (host.subdomain(zone)) {
        for (int type : new int[] {Type.A, Type.AAAA}) {
          for (Record a : query(primary, host, type, true, attempts, deadline, "the NS address")) {
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
        FenceState f = readFence(server, false, 1, deadline);
        if (f.token() > token) {
          throw new DnsStaleTokenException(
              resource(),
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
          for (int type : MANAGED_TYPES) {
            Set<String> want = rdata(e.getValue(), type);
            Set<String> have =
                rdata(query(server, e.getKey(), type, false, 1, deadline, "verification"), type);
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

  // ---------------------------------------------------------------------------------------------

  Deadline contextDeadline(ActionContext context) {
    Duration d = context.deadline();
    if (d == null || d.isNegative() || d.isZero()) {
      throw new DnsException(
          "the action's deadline has already passed; not contacting " + primary,
          primary.toString(),
          zone.toString(),
          -1,
          null);
    }
    return Deadline.in(operationTimeout).min(d);
  }

  Duration operationTimeout() {
    return operationTimeout;
  }

  Duration verifyTimeout() {
    return verifyTimeout;
  }

  Endpoint primary() {
    return primary;
  }

  static long requirePositive(long token) {
    if (token <= 0) {
      throw new BatonException("fencing token must be positive, was " + token);
    }
    return token;
  }

  /** Configuration only; never the TSIG secret. */
  @Override
  public String toString() {
    return "DnsSwitch[name="
        + actionName
        + ", server="
        + primary
        + ", zone="
        + zone
        + ", key="
        + key
        + ", fence="
        + fenceName
        + ", names="
        + names()
        + ", ttl="
        + ttlSeconds
        + "s]";
  }

  /**
   * Builds a {@link DnsSwitch}. Nothing is checked until {@link #build()}, which reports every
   * problem at once, each prefixed with the setting it concerns.
   */
  public static final class Builder {
    private String actionName = "dns";
    private String serverHost;
    private int serverPort = 53;
    private String zoneText;
    private String tsigName;
    private String tsigAlgorithm;
    private String tsigSecret;
    private TsigKey tsigKey;
    private Path tsigKeyFile;
    private String fenceRecord;
    private final List<String[]> addresses = new ArrayList<>();
    private final List<String[]> cnames = new ArrayList<>();
    private Duration ttl = Duration.ofSeconds(30);
    private final List<Endpoint> verifyServers = new ArrayList<>();
    private int verifyQuorum = QUORUM_ALL;
    private int nameServerPort = -1;
    private Duration queryTimeout = Duration.ofSeconds(2);
    private int attempts = 3;
    private Duration retryBackoff = Duration.ofMillis(200);
    private Duration verifyTimeout = Duration.ofSeconds(10);
    private Duration operationTimeout = Duration.ofSeconds(30);
    private boolean tcp = true;

    private Builder() {}

    /** The action's name in the journal, status and logs. Default {@code dns}. */
    public Builder name(String name) {
      this.actionName = name;
      return this;
    }

    /** The primary server that accepts updates for the zone (an IP literal or host name). */
    public Builder server(String host, int port) {
      this.serverHost = host;
      this.serverPort = port;
      return this;
    }

    /** As {@link #server(String, int)} on port 53. */
    public Builder server(String host) {
      return server(host, 53);
    }

    /** The zone to update, e.g. {@code baton.test} (the trailing dot is optional). */
    public Builder zone(String zone) {
      this.zoneText = zone;
      return this;
    }

    /** The TSIG key, as in the server's {@code key} statement. The secret is base64. */
    public Builder tsig(String keyName, String algorithm, String base64Secret) {
      this.tsigName = keyName;
      this.tsigAlgorithm = algorithm;
      this.tsigSecret = base64Secret;
      return this;
    }

    /** As {@link #tsig(String, String, String)}. */
    public Builder tsig(String keyName, TsigAlgorithm algorithm, String base64Secret) {
      return tsig(keyName, algorithm == null ? null : algorithm.bindName(), base64Secret);
    }

    public Builder tsig(TsigKey key) {
      this.tsigKey = key;
      return this;
    }

    /** A BIND key file as {@code tsig-keygen} writes it; read at {@link #build()}. */
    public Builder tsigKeyFile(Path file) {
      this.tsigKeyFile = file;
      return this;
    }

    /**
     * Points {@code name} at these addresses (A for IPv4, AAAA for IPv6 literals). A name without a
     * trailing dot is relative to the zone unless it already ends with the zone's name. Call again
     * for more names; a name may have several addresses of both families.
     */
    public Builder address(String name, String... ipAddresses) {
      if (ipAddresses == null || ipAddresses.length == 0) {
        addresses.add(new String[] {name, null});
      } else {
        for (String a : ipAddresses) {
          addresses.add(new String[] {name, a});
        }
      }
      return this;
    }

    /**
     * Points {@code name} at {@code target} with a CNAME. Names follow the rule of {@link
     * #address}; a target outside the zone needs its trailing dot.
     */
    public Builder cname(String name, String target) {
      cnames.add(new String[] {name, target});
      return this;
    }

    /**
     * The fence TXT record's name (relative to the zone unless absolute). Default: {@code
     * _baton-fence.<first configured name>}. Every switch of one deployment must use the same.
     */
    public Builder fenceRecord(String name) {
      this.fenceRecord = name;
      return this;
    }

    /**
     * TTL of the records written. Default 30 s. Clients may keep using the old answer this long
     * after a switch; see the module README.
     */
    public Builder ttl(Duration ttl) {
      this.ttl = ttl;
      return this;
    }

    /**
     * Verifies the switch on this server (repeatable). Default: the primary only, unless {@link
     * #verifyOnZoneNameServers(int)} is set.
     */
    public Builder verifyOn(String host, int port) {
      verifyServers.add(new Endpoint(host, port));
      return this;
    }

    /**
     * Verifies on every server the zone's NS records name (addresses from the zone itself for
     * in-zone names, the system resolver otherwise), on {@code port}.
     */
    public Builder verifyOnZoneNameServers(int port) {
      this.nameServerPort = port;
      return this;
    }

    /**
     * How many of the verification servers must show the change: at least 1, at most the number of
     * servers. Default: all of them, so that a configuration written before this setting keeps its
     * meaning. A server that does not answer before the verification deadline has not confirmed.
     * With a quorum below all, a lost region's name server no longer fails the switch, but a reader
     * of that server may see the old answer until it catches up.
     */
    public Builder verifyQuorum(int quorum) {
      this.verifyQuorum = quorum;
      return this;
    }

    /** As {@link #verifyQuorum(int)} with a majority of the servers: 2 of 2 or 3, 3 of 4 or 5. */
    public Builder verifyQuorumMajority() {
      this.verifyQuorum = QUORUM_MAJORITY;
      return this;
    }

    /** How long to wait for one answer. Default 2 s. */
    public Builder queryTimeout(Duration timeout) {
      this.queryTimeout = timeout;
      return this;
    }

    /** How many times to send a message before giving up on the server. Default 3. */
    public Builder attempts(int attempts) {
      this.attempts = attempts;
      return this;
    }

    /** Pause before the second attempt; doubles for each further one. Default 200 ms. */
    public Builder retryBackoff(Duration backoff) {
      this.retryBackoff = backoff;
      return this;
    }

    /** How long the servers may take to show the change. Default 10 s. */
    public Builder verifyTimeout(Duration timeout) {
      this.verifyTimeout = timeout;
      return this;
    }

    /**
     * Upper bound of one promotion or fence advance, including retries and verification. The action
     * context's deadline, when shorter, wins. Default 30 s.
     */
    public Builder operationTimeout(Duration timeout) {
      this.operationTimeout = timeout;
      return this;
    }

    /** TCP (default) or UDP for updates and queries. TCP fails fast when the server is down. */
    public Builder tcp(boolean tcp) {
      this.tcp = tcp;
      return this;
    }

    /**
     * Validates every setting and builds the switch.
     *
     * @throws IllegalArgumentException listing each problem, prefixed with its setting
     */
    public DnsSwitch build() {
      List<String> errors = new ArrayList<>();
      if (actionName == null || actionName.isBlank()) {
        errors.add("name: must not be blank");
      }
      if (serverHost == null || serverHost.isBlank()) {
        errors.add("server: required (call server(host, port) with the zone's primary)");
      }
      if (serverPort < 1 || serverPort > 65535) {
        errors.add("server: port must be 1..65535, was " + serverPort);
      }
      if (addresses.isEmpty() && cnames.isEmpty()) {
        errors.add("address/cname: at least one name to switch is required");
      }
      Name zone = null;
      if (zoneText == null || zoneText.isBlank()) {
        errors.add("zone: required (e.g. zone(\"example.com\"))");
      } else {
        try {
          zone = Name.fromString(zoneText.trim(), Name.root);
        } catch (TextParseException e) {
          errors.add("zone: '" + zoneText + "' is not a valid DNS name: " + e.getMessage());
        }
      }
      TsigKey key = buildKey(errors);
      Map<Name, List<Record>> names = new LinkedHashMap<>();
      long ttlSeconds = 0;
      if (ttl == null || ttl.isNegative() || ttl.getSeconds() > 86_400 || ttl.getNano() != 0) {
        errors.add("ttl: must be whole seconds between 0 and 86400, was " + ttl);
      } else {
        ttlSeconds = ttl.getSeconds();
      }
      if (zone != null) {
        buildNames(zone, ttlSeconds, names, errors);
      }
      Name fence = null;
      if (zone != null) {
        fence = buildFence(zone, names, errors);
      }
      for (Endpoint e : verifyServers) {
        if (e.host() == null || e.host().isBlank() || e.port() < 1 || e.port() > 65535) {
          errors.add("verifyOn: needs a host and a port 1..65535, was " + e);
        }
      }
      if (nameServerPort != -1 && (nameServerPort < 1 || nameServerPort > 65535)) {
        errors.add("verifyOnZoneNameServers: port must be 1..65535, was " + nameServerPort);
      }
      if (verifyQuorum != QUORUM_ALL && verifyQuorum != QUORUM_MAJORITY) {
        int servers = verifyServers.isEmpty() && nameServerPort == -1 ? 1 : verifyServers.size();
        if (verifyQuorum < 1) {
          errors.add(
              "verifyQuorum: must be at least 1 (a server that confirms), was " + verifyQuorum);
        } else if (nameServerPort == -1 && verifyQuorum > servers) {
          errors.add(
              "verifyQuorum: "
                  + verifyQuorum
                  + " is more than the "
                  + servers
                  + (verifyServers.isEmpty()
                      ? " verification server (the primary; none set with verifyOn)"
                      : " verification servers " + verifyServers));
        }
      }
      if (nameServerPort != -1 && !verifyServers.isEmpty()) {
        errors.add("verifyOn / verifyOnZoneNameServers: set one or the other, not both");
      }
      positive("queryTimeout", queryTimeout, errors);
      positive("verifyTimeout", verifyTimeout, errors);
      positive("operationTimeout", operationTimeout, errors);
      if (retryBackoff == null || retryBackoff.isNegative()) {
        errors.add("retryBackoff: must be zero or positive, was " + retryBackoff);
      }
      if (attempts < 1) {
        errors.add("attempts: must be at least 1, was " + attempts);
      }
      if (!errors.isEmpty()) {
        throw new IllegalArgumentException(
            "invalid DnsSwitch configuration: " + String.join("; ", errors));
      }
      return new DnsSwitch(this, zone, key, fence, Collections.unmodifiableMap(names));
    }

    private TsigKey buildKey(List<String> errors) {
      int given =
          (tsigKey != null ? 1 : 0)
              + (tsigKeyFile != null ? 1 : 0)
              + (tsigName != null || tsigAlgorithm != null || tsigSecret != null ? 1 : 0);
      if (given == 0) {
        errors.add(
            "tsig: required (tsig(name, algorithm, secret), tsig(key) or tsigKeyFile(path))");
        return null;
      }
      if (given > 1) {
        errors.add("tsig: set only one of tsig(name, algorithm, secret), tsig(key), tsigKeyFile");
        return null;
      }
      if (tsigKey != null) {
        return tsigKey;
      }
      try {
        if (tsigKeyFile != null) {
          return TsigKey.fromBindKeyFile(tsigKeyFile);
        }
        return TsigKey.of(tsigName, TsigAlgorithm.parse(tsigAlgorithm), tsigSecret);
      } catch (IOException e) {
        errors.add("tsigKeyFile: cannot read " + tsigKeyFile + ": " + e);
      } catch (IllegalArgumentException e) {
        errors.add((tsigKeyFile != null ? "tsigKeyFile: " : "tsig: ") + e.getMessage());
      }
      return null;
    }

    private void buildNames(
        Name zone, long ttlSeconds, Map<Name, List<Record>> names, List<String> errors) {
      Map<Name, String> kinds = new LinkedHashMap<>();
      for (String[] a : addresses) {
        Name n = inZone("address", a[0], zone, errors);
        if (n == null) {
          continue;
        }
        if (a[1] == null || a[1].isBlank()) {
          errors.add("address: no address given for '" + a[0] + "'");
          continue;
        }
        String literal = a[1].trim();
        Record r;
        if (Address.isDottedQuad(literal)) {
          r = new ARecord(n, DClass.IN, ttlSeconds, ipLiteral(literal, Address.IPv4));
        } else if (Address.toByteArray(literal, Address.IPv6) != null) {
          r = new AAAARecord(n, DClass.IN, ttlSeconds, ipLiteral(literal, Address.IPv6));
        } else {
          errors.add("address: '" + a[1] + "' for '" + a[0] + "' is not an IPv4 or IPv6 literal");
          continue;
        }
        if ("cname".equals(kinds.get(n))) {
          errors.add("address: '" + n + "' already has a CNAME; a CNAME name holds nothing else");
          continue;
        }
        kinds.put(n, "address");
        List<Record> list = names.computeIfAbsent(n, k -> new ArrayList<>());
        if (list.stream().noneMatch(x -> x.equals(r))) {
          list.add(r);
        }
      }
      for (String[] c : cnames) {
        Name n = inZone("cname", c[0], zone, errors);
        if (n == null) {
          continue;
        }
        if (n.equals(zone)) {
          errors.add("cname: the zone apex " + zone + " cannot hold a CNAME (it holds SOA and NS)");
          continue;
        }
        if (kinds.containsKey(n)) {
          errors.add(
              "cname: '" + n + "' already has " + kinds.get(n) + " records; a CNAME stands alone");
          continue;
        }
        if (c[1] == null || c[1].isBlank()) {
          errors.add("cname: no target given for '" + c[0] + "'");
          continue;
        }
        Name target;
        try {
          target = resolveName(c[1], zone);
        } catch (TextParseException e) {
          errors.add("cname: target '" + c[1] + "' is not a valid DNS name: " + e.getMessage());
          continue;
        }
        kinds.put(n, "cname");
        names.put(n, new ArrayList<>(List.of(new CNAMERecord(n, DClass.IN, ttlSeconds, target))));
      }
      names.replaceAll((k, v) -> List.copyOf(v));
    }

    private Name buildFence(Name zone, Map<Name, List<Record>> names, List<String> errors) {
      Name fence;
      if (fenceRecord != null) {
        fence = inZone("fenceRecord", fenceRecord, zone, errors);
      } else if (!names.isEmpty()) {
        Name first = names.keySet().iterator().next();
        try {
          fence = Name.concatenate(Name.fromConstantString("_baton-fence"), first);
        } catch (org.xbill.DNS.NameTooLongException e) {
          errors.add("fenceRecord: _baton-fence." + first + " is too long; set fenceRecord(...)");
          return null;
        }
      } else {
        return null;
      }
      if (fence != null && names.containsKey(fence)) {
        errors.add("fenceRecord: " + fence + " is also one of the switched names");
      }
      return fence;
    }

    private static Name inZone(String setting, String text, Name zone, List<String> errors) {
      if (text == null || text.isBlank()) {
        errors.add(setting + ": name must not be blank");
        return null;
      }
      Name n;
      try {
        n = resolveName(text, zone);
      } catch (TextParseException e) {
        errors.add(setting + ": '" + text + "' is not a valid DNS name: " + e.getMessage());
        return null;
      }
      if (!n.subdomain(zone)) {
        errors.add(setting + ": '" + n + "' is outside zone " + zone);
        return null;
      }
      return n;
    }

    /**
     * Absolute if it ends with a dot or already ends with the zone's name (so that
     * "app.example.com" does not become "app.example.com.example.com."), else relative to the zone.
     */
    static Name resolveName(String text, Name zone) throws TextParseException {
      String t = text.trim();
      if (t.equals("@")) {
        return zone;
      }
      if (t.endsWith(".")) {
        return Name.fromString(t);
      }
      Name absolute = Name.fromString(t, Name.root);
      if (absolute.subdomain(zone)) {
        return absolute;
      }
      return Name.fromString(t, zone);
    }

    private static InetAddress ipLiteral(String literal, int family) {
      try {
        // A literal: getByAddress never consults DNS.
        return InetAddress.getByAddress(Address.toByteArray(literal, family));
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }

    private static void positive(String setting, Duration d, List<String> errors) {
      if (d == null || d.isNegative() || d.isZero()) {
        errors.add(setting + ": must be positive, was " + d);
      }
    }
  }
}
