package dev.baton.core;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A node of the cluster as every node's configuration names it.
 *
 * @param id the node id: 1 to 64 characters of letters, digits, '.', '_' or '-'
 * @param address the Raft address, {@code host:port}
 * @param witness a witness votes but never becomes active (a small tiebreaker in a third site)
 * @param noActivate a voter that never becomes active (for example during maintenance)
 * @param priority a preference among eligible nodes: a step-down hands the role to the peer with
 *     the highest; with {@link FailbackPolicy failback} enabled, the active hands the role to a
 *     member with a strictly higher priority once that member has been up, caught up and healthy
 *     for the hold-down (never between equal priorities). Not a Raft priority: Raft elections
 *     ignore it
 */
public record Member(String id, String address, boolean witness, boolean noActivate, int priority) {

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  public Member {
    Objects.requireNonNull(id, "member id");
    Objects.requireNonNull(address, "member address");
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "member id '"
              + id
              + "' is not allowed: use 1 to 64 letters, digits, '.', '_' or '-', starting with a"
              + " letter or digit");
    }
    parseAddress(id, address);
    if (priority < 0) {
      throw new IllegalArgumentException(
          "member " + id + ": priority " + priority + " is negative; use 0 or more");
    }
  }

  /** An eligible voter with default priority. */
  public static Member voter(String id, String address) {
    return new Member(id, address, false, false, 1);
  }

  /** A witness: votes, never becomes active. */
  public static Member witness(String id, String address) {
    return new Member(id, address, true, true, 0);
  }

  /** A copy of this member with the given priority. */
  public Member withPriority(int newPriority) {
    return new Member(id, address, witness, noActivate, newPriority);
  }

  /** A copy of this member that never becomes active. */
  public Member withNoActivate() {
    return new Member(id, address, witness, true, priority);
  }

  /** Whether this member may become active. */
  public boolean eligible() {
    return !witness && !noActivate;
  }

  /** The host part of the address. */
  public String host() {
    return address.substring(0, address.lastIndexOf(':'));
  }

  /** The port part of the address. */
  public int port() {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }

  static void parseAddress(String id, String address) {
    int colon = address.lastIndexOf(':');
    String problem = null;
    if (colon <= 0 || colon == address.length() - 1) {
      problem = "expected host:port";
    } else {
      try {
        int port = Integer.parseInt(address.substring(colon + 1));
        if (port < 1 || port > 65535) {
          problem = "port " + port + " is outside 1..65535";
        }
      } catch (NumberFormatException e) {
        problem = "port '" + address.substring(colon + 1) + "' is not a number";
      }
      String host = address.substring(0, colon);
      if (problem == null && (host.isBlank() || host.chars().anyMatch(Character::isWhitespace))) {
        problem = "host '" + host + "' is empty or contains white space";
      }
    }
    if (problem != null) {
      throw new IllegalArgumentException(
          "member " + id + ": address '" + address + "' is malformed: " + problem);
    }
  }
}
