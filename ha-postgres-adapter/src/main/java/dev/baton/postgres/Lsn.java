package dev.baton.postgres;

/** PostgreSQL WAL positions ({@code pg_lsn}, written {@code X/Y} in hex) as unsigned longs. */
final class Lsn {
  private Lsn() {}

  static long parse(String lsn) {
    int slash = lsn.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("not a WAL position: " + lsn);
    }
    long hi = Long.parseLong(lsn.substring(0, slash), 16);
    long lo = Long.parseLong(lsn.substring(slash + 1), 16);
    return (hi << 32) | lo;
  }

  static String format(long lsn) {
    return Long.toHexString(lsn >>> 32).toUpperCase()
        + "/"
        + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
  }
}
