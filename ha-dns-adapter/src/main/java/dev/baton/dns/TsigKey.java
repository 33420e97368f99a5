package dev.baton.dns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Name;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TextParseException;

/**
 * A TSIG key: its name, its algorithm and its shared secret.
 *
 * <p>The secret never leaves this object except into the HMAC: {@link #toString()} redacts it and
 * no Baton log line or exception message contains it, because whoever holds it may rewrite the
 * zone's records.
 */
public final class TsigKey {
  private static final Pattern KEY_BLOCK =
      Pattern.compile(
          "key\\s+\"?([^\"\\s{]+)\"?\\s*\\{(.*?)\\}\\s*;", Pattern.DOTALL | Pattern.MULTILINE);
  private static final Pattern ALGORITHM = Pattern.compile("algorithm\\s+\"?([^\";\\s]+)\"?\\s*;");
  private static final Pattern SECRET = Pattern.compile("secret\\s+\"([^\"]*)\"\\s*;");

  private final Name name;
  private final TsigAlgorithm algorithm;
  private final byte[] secret;

  private TsigKey(Name name, TsigAlgorithm algorithm, byte[] secret) {
    this.name = name;
    this.algorithm = algorithm;
    this.secret = secret;
  }

  /**
   * A key from its parts, as they appear in a BIND {@code key} statement.
   *
   * @param name the key's name, e.g. {@code baton-key} (a DNS name; the trailing dot is optional)
   * @param algorithm e.g. {@code hmac-sha256}; see {@link TsigAlgorithm#parse(String)}
   * @param base64Secret the {@code secret} as base64
   * @throws IllegalArgumentException naming what is wrong (never echoing the secret)
   */
  public static TsigKey of(
      @Nullable String name, @Nullable String algorithm, @Nullable String base64Secret) {
    return of(name, TsigAlgorithm.parse(algorithm), base64Secret);
  }

  /** As {@link #of(String, String, String)}. */
  public static TsigKey of(
      @Nullable String name, TsigAlgorithm algorithm, @Nullable String base64Secret) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("tsig key name is missing");
    }
    Objects.requireNonNull(algorithm, "tsig algorithm");
    Name keyName;
    try {
      keyName = Name.fromString(name.trim(), Name.root);
    } catch (TextParseException e) {
      throw new IllegalArgumentException(
          "tsig key name '" + name + "' is not a valid DNS name: " + e.getMessage(), e);
    }
    if (base64Secret == null || base64Secret.isBlank()) {
      throw new IllegalArgumentException("tsig secret for key '" + keyName + "' is empty");
    }
    byte[] secret;
    try {
      secret = Base64.getMimeDecoder().decode(base64Secret.trim());
    } catch (IllegalArgumentException e) {
      // The decoder's message can quote the offending character; do not pass it on.
      throw new IllegalArgumentException(
          "tsig secret for key '" + keyName + "' is not valid base64");
    }
    if (secret.length == 0) {
      throw new IllegalArgumentException("tsig secret for key '" + keyName + "' is empty");
    }
    return new TsigKey(keyName, algorithm, secret);
  }

  /**
   * Reads the first {@code key} statement of a BIND key file, as {@code tsig-keygen} writes it:
   *
   * <pre>
   * key "baton-key" {
   *     algorithm hmac-sha256;
   *     secret "...";
   * };
   * </pre>
   */
  public static TsigKey fromBindKeyFile(Path file) throws IOException {
    return parseBindKey(Files.readString(file, StandardCharsets.UTF_8), file.toString());
  }

  /** Parses the first {@code key} statement of BIND configuration text. */
  public static TsigKey parseBindKey(String text) {
    return parseBindKey(text, "key text");
  }

  private static TsigKey parseBindKey(String text, String source) {
    Matcher block = KEY_BLOCK.matcher(text);
    if (!block.find()) {
      throw new IllegalArgumentException("no key \"name\" { ... }; statement in " + source);
    }
    String body = block.group(2);
    Matcher alg = ALGORITHM.matcher(body);
    Matcher secret = SECRET.matcher(body);
    if (!alg.find()) {
      throw new IllegalArgumentException(
          "key '" + block.group(1) + "' in " + source + " has no algorithm");
    }
    if (!secret.find()) {
      throw new IllegalArgumentException(
          "key '" + block.group(1) + "' in " + source + " has no secret");
    }
    return of(block.group(1), alg.group(1), secret.group(1));
  }

  /** The key's name as a DNS name, with the trailing dot. */
  public String name() {
    return name.toString();
  }

  public TsigAlgorithm algorithm() {
    return algorithm;
  }

  Name dnsName() {
    return name;
  }

  /** A fresh signer; dnsjava's TSIG keeps per-message state, so one per message is the safe use. */
  TSIG signer() {
    return new TSIG(algorithm.wireName(), name, secret.clone());
  }

  /**
   * The same key name and algorithm with another secret. Lets tests and tools build the "wrong
   * secret" case without ever printing either secret.
   */
  public TsigKey withSecret(String base64Secret) {
    return of(name.toString(), algorithm, base64Secret);
  }

  /** Whether both keys have the same name, algorithm and secret (constant time on the secret). */
  @Override
  public boolean equals(Object o) {
    if (!(o instanceof TsigKey)) {
      return false;
    }
    TsigKey k = (TsigKey) o;
    return name.equals(k.name)
        && algorithm == k.algorithm
        && java.security.MessageDigest.isEqual(secret, k.secret);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, algorithm);
  }

  /** Name and algorithm only: the secret is never printed. */
  @Override
  public String toString() {
    return "TsigKey[name=" + name + ", algorithm=" + algorithm + ", secret=<redacted>]";
  }
}
