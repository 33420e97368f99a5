package dev.baton.testing.dns;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * A real Knot DNS ({@code knotd}, foreground) with the same zones and keys as {@link BindServer},
 * so the adapter's tests run against a second implementation of RFC 2136. Knot's ACLs differ from
 * BIND's allow-update: every key may query both zones (so signed fence reads verify), the six
 * update keys may update {@link #zone()}, nothing may update {@link #staticZone()}.
 *
 * <p>Needs {@code knotd} (Debian: knot) and, for the keys and checks, {@code tsig-keygen} and
 * {@code dig}. Knot answers an update its ACL denies with NOTAUTH and TSIG error BADKEY (BIND:
 * REFUSED).
 */
public final class KnotServer extends DnsServerProcess {

  private KnotServer(String zone, String staticZone, List<String> records) {
    super(zone, staticZone, records);
  }

  /** A server with the default zones, started. */
  public static KnotServer start() {
    return start("baton.test.");
  }

  /** A server whose dynamic zone is {@code zone}, started. */
  public static KnotServer start(String zone) {
    KnotServer s = new KnotServer(zone, "static.test.", new ArrayList<>());
    s.startFresh();
    return s;
  }

  @Override
  public String kind() {
    return "Knot";
  }

  @Override
  protected List<String> command() {
    return List.of(binary("knotd"), "-c", dir.resolve("knot.conf").toString());
  }

  @Override
  protected void writeConfig() throws IOException {
    Files.createDirectories(dir.resolve("db"));
    StringBuilder c = new StringBuilder();
    c.append("server:\n")
        .append("    listen: 127.0.0.1@")
        .append(port)
        .append('\n')
        .append("    rundir: ")
        .append(dir)
        .append('\n')
        .append("    pidfile: ")
        .append(dir.resolve("knot.pid"))
        .append('\n')
        // Few threads: the build machine's cores are shared.
        .append("    udp-workers: 1\n")
        .append("    tcp-workers: 1\n")
        .append("    background-workers: 1\n")
        .append("database:\n")
        .append("    storage: ")
        .append(dir.resolve("db"))
        .append('\n')
        .append("log:\n")
        .append("  - target: stderr\n")
        .append("    any: info\n")
        .append("key:\n");
    List<String> updaters = new ArrayList<>();
    for (String a : ALGORITHMS) {
      appendKey(c, updateKeyName(a), a, secretOf(keyFiles().get(a)));
      updaters.add(updateKeyName(a));
    }
    appendKey(c, NO_RIGHTS_KEY_NAME, "hmac-sha256", secretOf(noRightsKeyFile()));
    List<String> everyone = new ArrayList<>(updaters);
    everyone.add(NO_RIGHTS_KEY_NAME);
    c.append("acl:\n")
        .append("  - id: readers\n")
        .append("    key: [")
        .append(String.join(", ", everyone))
        .append("]\n")
        .append("    action: query\n")
        .append("  - id: updaters\n")
        .append("    key: [")
        .append(String.join(", ", updaters))
        .append("]\n")
        .append("    action: update\n")
        .append("template:\n")
        .append("  - id: default\n")
        .append("    storage: ")
        .append(dir)
        .append('\n')
        // Updates live in the journal; the zone file stays as written.
        .append("    zonefile-sync: -1\n")
        .append("    journal-content: all\n")
        .append("    zonefile-load: difference-no-serial\n")
        .append("zone:\n")
        .append("  - domain: ")
        .append(zone)
        .append('\n')
        .append("    file: ")
        .append(dynamicZoneFile())
        .append('\n')
        .append("    acl: [readers, updaters]\n")
        .append("  - domain: ")
        .append(staticZone)
        .append('\n')
        .append("    file: ")
        .append(staticZoneFile())
        .append('\n')
        .append("    acl: [readers]\n");
    Files.writeString(dir.resolve("knot.conf"), c.toString());
  }

  private static void appendKey(StringBuilder c, String id, String algorithm, String secret) {
    c.append("  - id: ")
        .append(id)
        .append('\n')
        .append("    algorithm: ")
        .append(algorithm)
        .append('\n')
        .append("    secret: ")
        .append(secret)
        .append('\n');
  }
}
