package dev.baton.dns;

import dev.baton.core.BatonException;
import dev.baton.core.PromotionAction;
import dev.baton.core.StepContext;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

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
 * <p>It does not consult {@link StepContext#isLeaseValid()}: the compare-and-set makes the change
 * safe for a node whose lease has lapsed too, because a newer active's higher token wins at the
 * server. Nor does it skip work on {@link StepContext#lastCompletedToken()}: re-running with the
 * same token rewrites the same records, which is cheap and repairs a hand-edited zone.
 *
 * <p>{@link #demote} does nothing on purpose: removing the records would leave clients with
 * NXDOMAIN, which resolvers cache; the next active overwrites the names instead.
 *
 * <p>Where the work is: {@link FenceCompareAndSet} (the update), {@link ZoneVerifier} (the
 * verification quorum), {@link ZoneReader} (authoritative reads, the fence record) and {@link
 * SwitchedNames} (the records each name gets). This class is the action and its {@link Builder}; it
 * is over 450 lines because the builder is the public configuration API, a documented method per
 * setting, and reports every problem at once.
 */
public final class DnsSwitch implements PromotionAction {
  private static final Logger LOG = LoggerFactory.getLogger(DnsSwitch.class);
  static final int QUORUM_ALL = ZoneVerifier.QUORUM_ALL;
  static final int QUORUM_MAJORITY = ZoneVerifier.QUORUM_MAJORITY;

  private final String actionName;
  private final Endpoint primary;
  private final Name zone;
  private final TsigKey key;
  private final Name fenceName;
  private final Map<Name, List<Record>> names;
  private final long ttlSeconds;
  private final Duration verifyTimeout;
  private final Duration operationTimeout;
  private final ZoneReader reader;
  private final FenceCompareAndSet cas;
  private final ZoneVerifier verifier;
  private final DnsFence fence;

  private DnsSwitch(Builder b, Name zone, TsigKey key, Name fence, Map<Name, List<Record>> names) {
    this.actionName = b.actionName;
    this.primary = new Endpoint(Objects.requireNonNull(b.serverHost), b.serverPort);
    this.zone = zone;
    this.key = key;
    this.fenceName = fence;
    this.names = names;
    this.ttlSeconds = b.ttl.getSeconds();
    this.verifyTimeout = b.verifyTimeout;
    this.operationTimeout = b.operationTimeout;
    DnsClient client = new DnsClient(zone.toString(), key, b.queryTimeout, b.retryBackoff, b.tcp);
    this.reader = new ZoneReader(client, zone, fence, primary, b.attempts);
    this.cas = new FenceCompareAndSet(reader, client, key.name(), names, ttlSeconds);
    this.verifier =
        new ZoneVerifier(
            reader, actionName, names, b.verifyServers, b.verifyQuorum, b.nameServerPort);
    this.fence = new DnsFence(actionName + "-fence", reader, cas, operationTimeout);
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
    return verifier.quorumSetting();
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
  public void promote(StepContext context) throws Exception {
    long token = requirePositive(context.token());
    Deadline deadline = contextDeadline(context, operationTimeout, primary, zone);
    Logger log = context.log() != null ? context.log() : LOG;
    long start = System.nanoTime();
    // Moving the names always replaces a state: only a fence-only compare-and-set returns null.
    FenceState replaced =
        Objects.requireNonNull(cas.compareAndSet(token, context.nodeId(), true, deadline, log));
    List<Endpoint> verified = verifier.verify(token, deadline.min(verifyTimeout));
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
    FenceState fence = reader.readFence(primary, true, deadline);
    List<Endpoint> targets = verifier.verifyTargets(deadline);
    int needed = verifier.quorumOf(targets.size());
    List<Endpoint> readable = new ArrayList<>();
    Map<Endpoint, DnsException> failed = new LinkedHashMap<>();
    for (Endpoint server : targets) {
      try {
        reader.readFence(server, false, 1, deadline);
        for (Name name : names.keySet()) {
          for (int type : ZoneReader.MANAGED_TYPES) {
            reader.query(server, name, type, false, 1, deadline, "pre-flight");
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
      throw verifier.quorumNotMet(
          "pre-flight: ", "to be readable", targets, needed, readable, failed);
    }
    failed.forEach(
        (server, e) ->
            LOG.warn(
                "dns: pre-flight: verification server {} cannot be read ({}); the verify quorum"
                    + " {} is met without it",
                server,
                e.getMessage(),
                verifier.describeQuorum(needed, targets.size())));
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
  public void demote(StepContext context) {}

  /** The token the fence record holds on the primary now, or 0 when there is none. */
  public long currentToken() throws InterruptedException {
    return fence.currentToken();
  }

  /**
   * The deadline of one operation for an action's step: the operation timeout, cut to what is left
   * of the step's own deadline.
   */
  static Deadline contextDeadline(
      StepContext context, Duration operationTimeout, Endpoint primary, Name zone) {
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

  /** The compare-and-set on the fence record (package-private: the fence step and the tests). */
  FenceCompareAndSet cas() {
    return cas;
  }

  /** The verification on the configured servers (package-private: the converger and the tests). */
  ZoneVerifier verifier() {
    return verifier;
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
    private @Nullable String serverHost;
    private int serverPort = 53;
    private @Nullable String zoneText;
    private @Nullable String tsigName;
    private @Nullable String tsigAlgorithm;
    private @Nullable String tsigSecret;
    private @Nullable TsigKey tsigKey;
    private @Nullable Path tsigKeyFile;
    private @Nullable String fenceRecord;
    private final List<SwitchedNames.NameAddress> addresses = new ArrayList<>();
    private final List<SwitchedNames.NameAlias> cnames = new ArrayList<>();
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
    public Builder tsig(String keyName, @Nullable String algorithm, String base64Secret) {
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
        addresses.add(new SwitchedNames.NameAddress(name, null));
      } else {
        for (String a : ipAddresses) {
          addresses.add(new SwitchedNames.NameAddress(name, a));
        }
      }
      return this;
    }

    /**
     * Points {@code name} at {@code target} with a CNAME. Names follow the rule of {@link
     * #address}; a target outside the zone needs its trailing dot.
     */
    public Builder cname(String name, String target) {
      cnames.add(new SwitchedNames.NameAlias(name, target));
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
        SwitchedNames.build(addresses, cnames, zone, ttlSeconds, names, errors);
      }
      Name fence = null;
      if (zone != null) {
        fence = SwitchedNames.fence(fenceRecord, zone, names, errors);
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
      // Each is null only with an entry in errors, which threw above.
      return new DnsSwitch(
          this,
          Objects.requireNonNull(zone),
          Objects.requireNonNull(key),
          Objects.requireNonNull(fence),
          Collections.unmodifiableMap(names));
    }

    private @Nullable TsigKey buildKey(List<String> errors) {
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

    private static void positive(String setting, Duration d, List<String> errors) {
      if (d == null || d.isNegative() || d.isZero()) {
        errors.add(setting + ": must be positive, was " + d);
      }
    }
  }
}
