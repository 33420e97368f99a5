package dev.baton.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;

/**
 * Whether a cluster secret ({@link BatonNode.Builder#clusterSecret(java.nio.file.Path)}) is strong
 * enough to be a root credential; the builder refuses a weak one, and a tool that reads a secret
 * from elsewhere (a vault, a variable) can ask first. A weak secret is guessed offline: any client
 * that completes a TLS handshake with a Raft port receives a public key derived from it, and can
 * then try candidate secrets against that key without ever touching the cluster again. PBKDF2's
 * work factor slows each guess; only the secret's own randomness makes guessing hopeless.
 */
public final class ClusterSecret {
  /** The fewest random bytes a cluster secret may carry. */
  public static final int MIN_BYTES = 32;

  private ClusterSecret() {}

  /**
   * Why the cluster secret {@code secret} is too weak to derive member keys from, or empty if it is
   * strong enough: it must carry at least 32 random bytes. Text (what {@code openssl rand -base64
   * 32} or {@code openssl rand -hex 32} prints) counts by what it decodes to, so 32 characters of
   * text are not 32 bytes of secret; raw bytes count as they are. Random bytes also take many
   * distinct values: a secret whose bytes take fewer than half of 32 distinct values (a repeated
   * character, say) is not random.
   *
   * <p>The keys are still derived from the secret as given (its text, when it is text), so members
   * that read the same file or variable derive the same keys as before this check.
   */
  public static Optional<String> weakness(byte[] secret) {
    byte[] decoded = secret;
    String form = "raw bytes";
    if (isText(secret)) {
      String text = new String(secret, StandardCharsets.US_ASCII);
      if (HEX.matcher(text).matches()) {
        decoded = HexFormat.of().parseHex(text);
        form = "hex";
      } else {
        decoded = base64(text);
        form = "base64";
        if (decoded == null) {
          return Optional.of(
              "it is text but neither base64 nor hex, so it cannot be counted as random bytes");
        }
      }
    }
    if (decoded.length < MIN_BYTES) {
      return Optional.of(
          "it is "
              + form
              + " of "
              + decoded.length
              + " bytes; it needs at least "
              + MIN_BYTES
              + " random bytes");
    }
    byte[] bytes = decoded;
    long distinct = IntStream.range(0, bytes.length).map(i -> bytes[i] & 0xff).distinct().count();
    if (distinct < MIN_BYTES / 2) {
      return Optional.of(
          "its "
              + decoded.length
              + " bytes ("
              + form
              + ") take only "
              + distinct
              + " distinct values: it is not random");
    }
    return Optional.empty();
  }

  /**
   * The secret in {@code file}, as every reader of a secret file takes it: the bytes, without the
   * trailing newline an editor or {@code echo} adds.
   *
   * @param setting the setting that named the file, for the message
   * @throws IllegalArgumentException naming the setting and the file when it cannot be read
   */
  public static byte[] read(Path file, String setting) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          setting + ": file " + file + " is not readable: " + e.getMessage(), e);
    }
    int end = bytes.length;
    while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r')) {
      end--;
    }
    return Arrays.copyOf(bytes, end);
  }

  private static final Pattern HEX = Pattern.compile("([0-9a-fA-F]{2})+");

  private static boolean isText(byte[] b) {
    for (byte x : b) {
      if (x < 0x21 || x > 0x7e) {
        return false;
      }
    }
    return true;
  }

  private static byte @Nullable [] base64(String text) {
    for (Base64.Decoder d : List.of(Base64.getDecoder(), Base64.getUrlDecoder())) {
      try {
        return d.decode(text);
      } catch (IllegalArgumentException e) {
        // try the next alphabet
      }
    }
    return null;
  }
}
