package dev.baton.jepsen.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a node app observed, as JSON Lines in a file the harness reads after the run (the file is on
 * a directory bind-mounted from the host).
 *
 * <p>Each record is written with one {@code write(2)} and no buffering in the JVM, so every record
 * written before a SIGKILL is in the file: the page cache belongs to the host kernel, not to the
 * killed process. A record cut short by the kill is at most the last line, which the reader skips.
 * Every record carries {@code time}: {@link System#nanoTime()}, i.e. CLOCK_MONOTONIC, one clock for
 * every container and the host.
 */
public final class EventLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final FileChannel out;

  public EventLog(Path file) throws IOException {
    this.out =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
  }

  /** Appends one record {@code {"e": kind, "time": now, ...fields}}. */
  public void write(String kind, Object... fields) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("e", kind);
    m.put("time", System.nanoTime());
    for (int i = 0; i + 1 < fields.length; i += 2) {
      m.put((String) fields[i], fields[i + 1]);
    }
    writeMap(m);
  }

  /** Appends a record whose fields (including its times) the caller chose. */
  public void writeMap(Map<String, Object> record) {
    byte[] line;
    try {
      line = (JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ByteBuffer buf = ByteBuffer.wrap(line);
    synchronized (this) {
      try {
        while (buf.hasRemaining()) {
          out.write(buf);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
