package dev.baton.dns;

import dev.baton.core.Backoff;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Message;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIGRecord;

/**
 * Sends one DNS message to one server with retries, and turns every way it can fail into an
 * exception that names the server, the zone and the cause. Never logs or prints the TSIG secret.
 */
final class DnsClient {
  private static final Logger LOG = LoggerFactory.getLogger(DnsClient.class);

  private final String zone;
  private final TsigKey key;
  private final Duration queryTimeout;
  private final Backoff retryBackoff;
  private final boolean tcp;

  DnsClient(String zone, TsigKey key, Duration queryTimeout, Duration retryBackoff, boolean tcp) {
    this.zone = zone;
    this.key = key;
    this.queryTimeout = queryTimeout;
    // Doubling five times at most: a few quick retries within one query's deadline.
    this.retryBackoff = Backoff.exponential(retryBackoff, retryBackoff.multipliedBy(32));
    this.tcp = tcp;
  }

  /**
   * Sends {@code query} and returns the server's answer when its response code is one the caller
   * acts on (NOERROR, NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET). Network errors and SERVFAIL are
   * retried up to {@code attempts} times within {@code deadline}.
   *
   * @param what a short description for messages, e.g. "the update"
   */
  Message exchange(
      Endpoint server, Message query, boolean sign, int attempts, Deadline deadline, String what)
      throws InterruptedException {
    boolean update = query.getHeader().getOpcode() == Opcode.UPDATE;
    long start = System.nanoTime();
    Throwable last = null;
    int attempt = 0;
    while (attempt < attempts) {
      Duration remaining = deadline.remaining();
      if (remaining.isNegative() || remaining.isZero()) {
        break;
      }
      attempt++;
      Duration timeout = remaining.compareTo(queryTimeout) < 0 ? remaining : queryTimeout;
      try {
        Message response = sendOnce(server, query, sign, timeout);
        int rcode = response.getRcode();
        checkTsig(server, response, sign, what);
        switch (rcode) {
          case Rcode.NOERROR:
          case Rcode.NXDOMAIN:
          case Rcode.YXDOMAIN:
          case Rcode.NXRRSET:
          case Rcode.YXRRSET:
            if (sign && !response.isVerified()) {
              // A success we cannot authenticate could be forged: acting on it could make this
              // node believe it holds the name when it does not.
              throw new DnsAuthenticationException(
                  server
                      + " answered "
                      + what
                      + " for zone "
                      + zone
                      + " with "
                      + Rcode.string(rcode)
                      + " but the reply is not signed with TSIG key '"
                      + key.name()
                      + "' ("
                      + key.algorithm()
                      + "); refusing to trust it",
                  server.toString(),
                  zone,
                  rcode);
            }
            return response;
          case Rcode.REFUSED:
            throw new DnsRefusedException(
                update
                    ? server
                        + " refused the update of zone "
                        + zone
                        + " (REFUSED): the zone does not accept dynamic updates signed with TSIG"
                        + " key '"
                        + key.name()
                        + "'; allow them on the server (BIND: allow-update { key \""
                        + key.name()
                        + "\"; }; or an update-policy grant)"
                    : server
                        + " refused "
                        + what
                        + " (REFUSED): it does not answer for zone "
                        + zone
                        + " (is the zone name right, and is this server authoritative for it?)",
                server.toString(),
                zone,
                rcode);
          case Rcode.NOTAUTH:
            throw new DnsRefusedException(
                server
                    + " is not authoritative for zone "
                    + zone
                    + " (NOTAUTH) and rejected "
                    + what
                    + "; send updates to the zone's primary server",
                server.toString(),
                zone,
                rcode);
          case Rcode.NOTZONE:
            throw new DnsRefusedException(
                server
                    + " rejected "
                    + what
                    + " (NOTZONE): a name in it lies outside zone "
                    + zone
                    + "; check the configured names and fence record",
                server.toString(),
                zone,
                rcode);
          case Rcode.SERVFAIL:
            last = new ServerFailure(server + " answered SERVFAIL");
            break;
          default:
            throw new DnsException(
                server + " answered " + what + " for zone " + zone + " with " + Rcode.string(rcode),
                server.toString(),
                zone,
                rcode,
                null);
        }
      } catch (IOException e) {
        last = e;
      }
      LOG.debug(
          "{} to {} (zone {}) failed on attempt {}/{}: {}",
          what,
          server,
          zone,
          attempt,
          attempts,
          String.valueOf(last));
      if (attempt < attempts) {
        long sleep =
            Math.min(
                retryBackoff.delay(attempt).toMillis(),
                Math.max(0, deadline.remaining().toMillis()));
        if (sleep > 0) {
          // A pause between attempts, not a wait for a state: the next attempt checks the state.
          Thread.sleep(sleep);
        }
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (last instanceof ServerFailure) {
      throw new DnsException(
          String.format(
              "DNS server %s answered %s for zone %s with SERVFAIL on %d attempt%s in %.1f s;"
                  + " its log says why (for BIND and Knot often an unwritable journal or zone"
                  + " directory)",
              server, what, zone, attempt, attempt == 1 ? "" : "s", seconds),
          server.toString(),
          zone,
          Rcode.SERVFAIL,
          null);
    }
    String cause = last == null ? "the deadline passed before the first attempt" : last.toString();
    throw new DnsUnreachableException(
        String.format(
            "DNS server %s (zone %s) did not answer %s after %d attempt%s in %.1f s: %s",
            server, zone, what, attempt, attempt == 1 ? "" : "s", seconds, cause),
        server.toString(),
        zone,
        attempt,
        last);
  }

  private Message sendOnce(Endpoint server, Message query, boolean sign, Duration timeout)
      throws IOException, InterruptedException {
    SimpleResolver resolver = new SimpleResolver(server.resolve());
    resolver.setTCP(tcp);
    resolver.setTimeout(timeout);
    if (sign) {
      resolver.setTSIGKey(key.signer());
    }
    CompletableFuture<Message> future = resolver.sendAsync(query).toCompletableFuture();
    try {
      // A little slack over the resolver's own timeout so that its exception, which says more,
      // normally wins.
      return future.get(timeout.toMillis() + 250, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      future.cancel(true);
      throw e;
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new SocketTimeoutException("no answer within " + timeout.toMillis() + " ms");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      throw new IOException(cause);
    }
  }

  private void checkTsig(Endpoint server, Message response, boolean sign, String what) {
    TSIGRecord tsig = response.getTSIG();
    int error = tsig == null ? Rcode.NOERROR : tsig.getError();
    if (error == Rcode.NOERROR
        && !(sign && response.getRcode() == Rcode.NOTAUTH && !response.isVerified())) {
      return;
    }
    String reason;
    switch (error) {
      case Rcode.BADSIG:
        reason =
            "BADSIG: the server has a key of that name, but the secret differs; configure the"
                + " secret of the server's key";
        break;
      case Rcode.BADKEY:
        reason =
            "BADKEY: the server does not accept a key of that name and algorithm here; check the"
                + " key name and algorithm against the server's key statement (Knot also answers"
                + " BADKEY when no ACL of the zone allows this key)";
        break;
      case Rcode.BADTIME:
        reason =
            "BADTIME: this host's clock and the server's differ by more than the TSIG fudge"
                + " (300 s); fix the clocks (NTP)";
        break;
      case Rcode.NOERROR:
        reason =
            "NOTAUTH to an unverifiable signature: the server did not accept the key (wrong"
                + " secret, name or algorithm)";
        break;
      default:
        reason = Rcode.TSIGstring(error);
    }
    throw new DnsAuthenticationException(
        "TSIG key '"
            + key.name()
            + "' ("
            + key.algorithm()
            + ") was rejected by "
            + server
            + " for zone "
            + zone
            + " ("
            + what
            + "): "
            + reason,
        server.toString(),
        zone,
        error == Rcode.NOERROR ? Rcode.NOTAUTH : error);
  }

  /** SERVFAIL: the server is up but failed; retried like a network error, reported apart. */
  private static final class ServerFailure extends IOException {
    private static final long serialVersionUID = 1L;

    ServerFailure(String message) {
      super(message);
    }
  }
}
