package dev.baton.sidecar;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network namespace that a test creates and removes: a "region" whose processes can be cut off
 * from the rest of the machine and healed, for real-process region-loss tests (issue 32's region
 * cut with a paused active).
 *
 * <p>One veth pair joins it to the root namespace: the root side has {@link #hostAddress()}
 * (10.233.x.1/30), the namespace side {@link #address()} (10.233.x.2/30). Processes started with
 * {@link #command} run inside; they reach the root namespace's processes only at {@link
 * #hostAddress()} (127.0.0.1 inside is the namespace's own loopback), and are reached at {@link
 * #address()}. Ports are the namespace's own, so a fixed port inside cannot collide with another
 * test's. {@link #cut()} drops every packet on the namespace's veth, both ways (iptables in the
 * namespace): established connections stall as with a lost region, nothing is refused, and traffic
 * inside the namespace (a writer beside its database) goes on. {@link #heal()} removes the rules.
 *
 * <p>Needs root, iproute2 and iptables; {@link #create} fails naming the command that failed.
 */
final class NetworkNamespace implements AutoCloseable {
  private static final AtomicInteger NEXT = new AtomicInteger();

  private final String name;
  private final String hostVeth;
  private final String nsVeth;
  private final String hostAddress;
  private final String address;
  private final String network;
  private boolean cut;
  private boolean closed;

  private NetworkNamespace(String name, String hostVeth, String nsVeth, int subnet) {
    this.name = name;
    this.hostVeth = hostVeth;
    this.nsVeth = nsVeth;
    this.hostAddress = "10.233." + (subnet / 64) + "." + (subnet % 64 * 4 + 1);
    this.address = "10.233." + (subnet / 64) + "." + (subnet % 64 * 4 + 2);
    this.network = "10.233." + (subnet / 64) + "." + (subnet % 64 * 4) + "/30";
  }

  /**
   * Creates the namespace and its veth pair, addresses up. The name carries this JVM's pid, so that
   * concurrent test runs on one machine do not collide.
   */
  static NetworkNamespace create() {
    long pid = ProcessHandle.current().pid();
    int n = NEXT.getAndIncrement();
    // 16384 /30 subnets in 10.233.0.0/16; interface names stay within 15 characters.
    int subnet = (int) ((pid * 7 + n) % 16384);
    String tag = Long.toString(pid % 100_000) + "x" + n;
    NetworkNamespace ns =
        new NetworkNamespace("baton-" + pid + "-" + n, "bth" + tag, "btn" + tag, subnet);
    try {
      ns.setUp();
    } catch (RuntimeException e) {
      ns.close();
      throw e;
    }
    return ns;
  }

  private void setUp() {
    run("ip", "netns", "add", name);
    run("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", nsVeth);
    run("ip", "link", "set", nsVeth, "netns", name);
    run("ip", "addr", "add", hostAddress + "/30", "dev", hostVeth);
    run("ip", "link", "set", hostVeth, "up");
    inside("ip", "addr", "add", address + "/30", "dev", nsVeth);
    inside("ip", "link", "set", nsVeth, "up");
    inside("ip", "link", "set", "lo", "up");
  }

  String name() {
    return name;
  }

  /** The namespace's address, where processes inside are reached. */
  String address() {
    return address;
  }

  /** The link's /30 (both ends), as a CIDR: what a server outside must let in. */
  String network() {
    return network;
  }

  /** The root namespace's end of the link: where processes inside reach the rest. */
  String hostAddress() {
    return hostAddress;
  }

  /** {@code cmd} run inside the namespace ({@code ip netns exec}, which execs: no subshell). */
  List<String> command(String... cmd) {
    List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", name));
    all.addAll(List.of(cmd));
    return all;
  }

  /** Drops every packet on the namespace's link, both ways; idempotent. */
  synchronized void cut() {
    if (cut) {
      return;
    }
    inside("iptables", "-I", "INPUT", "-i", nsVeth, "-j", "DROP");
    inside("iptables", "-I", "OUTPUT", "-o", nsVeth, "-j", "DROP");
    cut = true;
  }

  /** Lets packets through again; idempotent. */
  synchronized void heal() {
    if (!cut) {
      return;
    }
    inside("iptables", "-D", "INPUT", "-i", nsVeth, "-j", "DROP");
    inside("iptables", "-D", "OUTPUT", "-o", nsVeth, "-j", "DROP");
    cut = false;
  }

  /** Whether a namespace of this name exists now (for tests of the fixture). */
  static boolean exists(String name) {
    for (String line : run("ip", "netns", "list").split("\n")) {
      if (line.split("\\s+")[0].equals(name)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Removes the namespace (which removes the veth pair with it). Processes still running inside
   * must be stopped first by their owner; this does not kill anything.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    tryRun("ip", "link", "del", hostVeth);
    tryRun("ip", "netns", "del", name);
  }

  @Override
  public String toString() {
    return "netns " + name + " (" + address + ", host side " + hostAddress + ")";
  }

  private String inside(String... cmd) {
    return run(command(cmd).toArray(String[]::new));
  }

  private static void tryRun(String... cmd) {
    try {
      run(cmd);
    } catch (RuntimeException ignored) {
      // Cleanup: already gone, or never made.
    }
  }

  private static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + " did not finish in 30 s");
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            String.join(" ", cmd)
                + " exited "
                + p.exitValue()
                + ": "
                + text.strip()
                + " (a network namespace needs root, iproute2 and iptables)");
      }
      return text;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot run " + String.join(" ", cmd) + " (needs iproute2 and iptables)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
