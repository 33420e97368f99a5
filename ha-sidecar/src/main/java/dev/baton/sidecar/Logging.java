package dev.baton.sidecar;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * The binary's logging, set up in code: the library logs through SLF4J only; the sidecar and the
 * CLI own the configuration. Text is one readable line per event; JSON is one object per line
 * (logback's JsonEncoder), for log shippers. java.util.logging (gRPC's and Netty's loggers, Ratis's
 * shaded copies included) goes through the same configuration, so its lines have the same format
 * and levels instead of JUL's two-line records on stderr; a peer whose name does not resolve is one
 * line now and then ({@link PeerNameResolutionFilter}), not gRPC's stack trace a second.
 */
public final class Logging {
  private static final String PATTERN =
      "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{24} - %msg%n%ex{short}";

  private Logging() {}

  /**
   * Sidecar logging to stdout: Baton's loggers at {@code level}, Ratis's at {@code ratisLevel},
   * gRPC at WARN.
   */
  public static void sidecar(String format, String level, String ratisLevel) {
    configure(
        format,
        Level.toLevel(level, Level.INFO),
        Level.toLevel(ratisLevel, Level.ERROR),
        "System.out");
  }

  /** CLI logging: warnings and errors only, to stderr, so stdout carries just the answer. */
  public static void cli() {
    configure("text", Level.WARN, Level.ERROR, "System.err");
  }

  private static void configure(String format, Level batonLevel, Level ratisLevel, String target) {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ctx.reset();
    // JUL's levels follow logback's below, so JUL does not build records nobody will print.
    LevelChangePropagator jul = new LevelChangePropagator();
    jul.setContext(ctx);
    jul.setResetJUL(true);
    jul.start();
    ctx.addListener(jul);
    PeerNameResolutionFilter peerNames = new PeerNameResolutionFilter();
    peerNames.setContext(ctx);
    peerNames.start();
    ctx.addTurboFilter(peerNames);
    if (!SLF4JBridgeHandler.isInstalled()) {
      SLF4JBridgeHandler.removeHandlersForRootLogger();
      SLF4JBridgeHandler.install();
    }
    Encoder<ILoggingEvent> encoder;
    if (format.equals("json")) {
      JsonEncoder json = new JsonEncoder();
      json.setContext(ctx);
      json.start();
      encoder = json;
    } else {
      PatternLayoutEncoder text = new PatternLayoutEncoder();
      text.setContext(ctx);
      text.setPattern(PATTERN);
      text.start();
      encoder = text;
    }
    ConsoleAppender<ILoggingEvent> out = new ConsoleAppender<>();
    out.setContext(ctx);
    out.setTarget(target);
    out.setEncoder(encoder);
    out.start();
    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(out);
    ctx.getLogger("dev.baton").setLevel(batonLevel);
    // Ratis logs every election and reconnect at INFO/WARN; by default (ERROR) the node's own
    // lines say what matters, and logging.ratisLevel: INFO shows the election rounds.
    ctx.getLogger("org.apache.ratis").setLevel(ratisLevel);
    ctx.getLogger("io.grpc").setLevel(Level.WARN);
  }
}
