package dev.baton.sidecar;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * gRPC's channel warns "Failed to resolve name" each time it retries a peer whose host name does
 * not resolve (a container that was killed, a pod that is gone), with the whole stack trace of the
 * {@code UnknownHostException} inside the message: about one multi-line warning a second per
 * channel, from both gRPC copies (Ratis's shaded one for the Raft port, the plain one for the
 * control port), which pushes every line of Baton's own out of a container log's tail. This filter
 * drops those events and says instead, in one line without a stack trace, that the peer's address
 * does not resolve: the first time for each address, then at most once per {@link #interval} with
 * the number of failures in between.
 */
public final class PeerNameResolutionFilter extends TurboFilter {
  /** How often, at most, the line for one address repeats while its name does not resolve. */
  public static final long DEFAULT_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  private static final org.slf4j.Logger LOG =
      LoggerFactory.getLogger(PeerNameResolutionFilter.class);
  private static final String CHANNEL_LOGGER = "io.grpc.internal.ManagedChannelImpl";
  private static final Pattern TARGET = Pattern.compile("^\\[Channel<\\d+>: \\(([^)]*)\\)\\]");
  private static final Pattern DESCRIPTION = Pattern.compile("description=([^,\\n]*)");

  private final long interval;
  private final LongSupplier clock;
  private final Map<String, Repeats> byTarget = new ConcurrentHashMap<>();

  public PeerNameResolutionFilter() {
    this(DEFAULT_INTERVAL_NANOS, System::nanoTime);
  }

  PeerNameResolutionFilter(long intervalNanos, LongSupplier clock) {
    this.interval = intervalNanos;
    this.clock = clock;
  }

  @Override
  public FilterReply decide(
      Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    // The JUL bridge hands over the message already formatted (no parameters).
    if (format == null
        || !logger.getName().endsWith(CHANNEL_LOGGER)
        || !format.contains("Failed to resolve name")) {
      return FilterReply.NEUTRAL;
    }
    Matcher target = TARGET.matcher(format);
    String address = target.find() ? target.group(1) : "(unknown address)";
    Matcher description = DESCRIPTION.matcher(format);
    String why = description.find() ? description.group(1).trim() : firstLine(format);
    long now = clock.getAsLong();
    Repeats r = byTarget.computeIfAbsent(address, a -> new Repeats());
    long suppressed;
    synchronized (r) {
      if (r.logged && now - r.lastLogged < interval) {
        r.suppressed++;
        return FilterReply.DENY;
      }
      suppressed = r.suppressed;
      r.logged = true;
      r.lastLogged = now;
      r.suppressed = 0;
    }
    LOG.warn(
        "peer address {} does not resolve ({}): the peer is down or its name is gone; gRPC keeps"
            + " retrying, and this line repeats at most every {} s while it fails{}",
        address,
        why,
        TimeUnit.NANOSECONDS.toSeconds(interval),
        suppressed > 0 ? " (" + suppressed + " failures since the last line)" : "");
    return FilterReply.DENY;
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static final class Repeats {
    boolean logged;
    long lastLogged;
    long suppressed;
  }
}
