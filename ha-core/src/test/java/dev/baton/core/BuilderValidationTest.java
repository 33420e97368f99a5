package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.testing.cluster.TestCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuilderValidationTest {
  @TempDir Path dir;

  private BatonNode.Builder valid() {
    return BatonNode.builder()
        .clusterId("c1")
        .nodeId("a")
        .members(
            Member.voter("a", "127.0.0.1:7001"),
            Member.voter("b", "127.0.0.1:7002"),
            Member.witness("w", "127.0.0.1:7003"))
        .dataDir(dir.resolve("a"))
        .clusterSecret(TestCluster.newClusterSecret());
  }

  @Test
  void healthChecksWithTheSameNameOrNoneAreRefusedNamingTheCheck() {
    HealthCheck.Settings plane =
        HealthCheck.Settings.of("plane", Duration.ofMillis(500), Duration.ofMillis(300));
    HealthCheck a = HealthChecks.tcp(plane, "127.0.0.1", 1);
    HealthCheck b = HealthChecks.tcp(plane, "127.0.0.1", 2);
    assertThatThrownBy(() -> valid().healthChecks(List.of(a, b)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("healthChecks: check name 'plane' appears twice");
    assertThatThrownBy(() -> valid().healthChecks(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("healthChecks");
    assertThatThrownBy(() -> valid().healthPolicy(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("healthPolicy");
    // One check and a policy: accepted (the shape the sidecar's health: section maps to).
    valid().healthChecks(List.of(a)).healthPolicy(HealthPolicy.DEFAULTS).build();
  }

  @Test
  void aFailbackHoldDownThatIsNotPositiveIsRefusedNamingItAndFailbackIsOffByDefault() {
    assertThatThrownBy(() -> FailbackPolicy.after(Duration.ofSeconds(-5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("failback.holdDown -5000 ms is not positive");
    assertThatThrownBy(() -> new FailbackPolicy(false, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("failback.holdDown 0 ms is not positive");
    assertThatThrownBy(() -> valid().failback(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("failback");
    assertThat(FailbackPolicy.DISABLED.enabled()).isFalse();
    assertThat(FailbackPolicy.DISABLED.holdDown()).isEqualTo(Duration.ofSeconds(30));
    valid().failback(FailbackPolicy.after(Duration.ofSeconds(30))).build();
  }

  @Test
  void timingThatBreaksTheLeaseArgumentIsRefusedNamingTheSetting() {
    assertThatThrownBy(
            () ->
                new Timing(
                    Duration.ofMillis(1000),
                    Duration.ofMillis(900),
                    0.01,
                    Duration.ofMillis(100),
                    Duration.ofMillis(150),
                    Duration.ofMillis(300)))
        .hasMessageContaining(
            "electionTimeoutMax (900 ms) must be greater than electionTimeoutMin (1000 ms)");
    assertThatThrownBy(
            () ->
                new Timing(
                    Duration.ofMillis(1000),
                    Duration.ofMillis(2000),
                    0.01,
                    Duration.ofMillis(990),
                    Duration.ofMillis(150),
                    Duration.ofMillis(300)))
        .hasMessageContaining("the lease")
        .hasMessageContaining("must be positive");
    assertThatThrownBy(
            () ->
                new Timing(
                    Duration.ofMillis(1000),
                    Duration.ofMillis(2000),
                    0.7,
                    Duration.ofMillis(100),
                    Duration.ofMillis(150),
                    Duration.ofMillis(300)))
        .hasMessageContaining("clockDrift 0.7");
    assertThatThrownBy(
            () ->
                new Timing(
                    Duration.ofMillis(1000),
                    Duration.ofMillis(2000),
                    0.01,
                    Duration.ofMillis(100),
                    Duration.ofMillis(400),
                    Duration.ofMillis(300)))
        .hasMessageContaining("renewInterval (400 ms) is too long");
    assertThatThrownBy(
            () ->
                new Timing(
                    Duration.ofMillis(1000),
                    Duration.ofMillis(2000),
                    0.01,
                    Duration.ofMillis(-1),
                    Duration.ofMillis(150),
                    Duration.ofMillis(300)))
        .hasMessageContaining("leaseMargin");
    assertThat(Timing.DEFAULTS.lease()).isEqualTo(Duration.ofMillis(692));
    assertThat(Timing.DEFAULTS.failoverBound()).isEqualTo(Duration.ofMillis(3200));
  }

  @Test
  void badMembersAreRefusedNamingWhatIsWrong() {
    assertThatThrownBy(() -> Member.voter("a", "127.0.0.1"))
        .hasMessageContaining("member a: address '127.0.0.1' is malformed: expected host:port");
    assertThatThrownBy(() -> Member.voter("a", "127.0.0.1:99999"))
        .hasMessageContaining("port 99999 is outside 1..65535");
    assertThatThrownBy(() -> Member.voter("a", "host:http"))
        .hasMessageContaining("port 'http' is not a number");
    assertThatThrownBy(() -> Member.voter("bad id", "h:1"))
        .hasMessageContaining("member id 'bad id' is not allowed");
    assertThatThrownBy(
            () -> valid().members(Member.voter("a", "h:1"), Member.voter("a", "h:2")).build())
        .hasMessageContaining("node id 'a' appears twice");
    assertThatThrownBy(
            () -> valid().members(Member.voter("a", "h:1"), Member.voter("b", "h:1")).build())
        .hasMessageContaining("address h:1 is given to both a and b");
    assertThatThrownBy(() -> valid().nodeId("zz").build())
        .hasMessageContaining("nodeId 'zz' is not among the members");
    assertThatThrownBy(
            () -> valid().members(Member.witness("a", "h:1"), Member.witness("w", "h:2")).build())
        .hasMessageContaining("no member may become active");
    assertThatThrownBy(() -> valid().clusterId("has space").build())
        .hasMessageContaining("clusterId 'has space'");
    assertThatThrownBy(() -> valid().dataDir(null).build())
        .hasMessageContaining("dataDir must be set");
    assertThatThrownBy(() -> valid().operationTimeout(Duration.ofMillis(10)).build())
        .hasMessageContaining("operationTimeout (10 ms) must be at least electionTimeoutMax");
    assertThatThrownBy(() -> valid().historyLimit(0).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("historyLimit 0 is below 1");
    valid().historyLimit(1).build();
  }

  @Test
  void theRaftPortsSecurityMustBeChosenAndASecretMustBeLongEnough() throws Exception {
    BatonNode.Builder none =
        BatonNode.builder()
            .clusterId("c1")
            .nodeId("a")
            .members(Member.voter("a", "127.0.0.1:7001"))
            .dataDir(dir.resolve("a"));
    assertThatThrownBy(none::build)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the Raft port's security must be chosen")
        .hasMessageContaining("tls(TlsConfig)")
        .hasMessageContaining("clusterSecret(Path)")
        .hasMessageContaining("insecureTransport()");
    assertThatThrownBy(() -> valid().clusterSecret(new byte[31]).build())
        .hasMessageContaining("raw bytes of 31 bytes; it needs at least 32 random bytes");
    Path shortSecret = dir.resolve("short.secret");
    Files.writeString(shortSecret, "too-short\n");
    assertThatThrownBy(() -> valid().clusterSecret(shortSecret).build())
        .hasMessageContaining("file " + shortSecret)
        .hasMessageContaining("neither base64 nor hex")
        .hasMessageContaining("openssl rand -base64 32");
    Path missing = dir.resolve("missing.secret");
    assertThatThrownBy(() -> valid().clusterSecret(missing).build())
        .hasMessageContaining("clusterSecret: file " + missing + " is not readable");
    // The last choice wins.
    assertThat(valid().clusterSecret(missing).insecureTransport().build()).isNotNull();
  }

  /**
   * 32 characters are not 32 random bytes: a secret counts by what its text decodes to, and must
   * look random. Each of these was accepted before (the check counted characters), and each is
   * guessable offline from the public key any TLS client of the Raft port receives.
   */
  @Test
  void aWeakClusterSecretIsRefusedWithWhatIsWrongAndNeverItsContent() throws Exception {
    Map<String, String> weak =
        Map.of(
            "0123456789abcdef0123456789abcdef0123",
            "hex of 18 bytes",
            "x".repeat(44),
            "take only 3 distinct values: it is not random",
            "correct-horse-battery-staple-correct-horse!",
            "neither base64 nor hex",
            "c2hvcnQgYnV0IHZhbGlkIGJhc2U2NA==",
            "base64 of 22 bytes");
    for (Map.Entry<String, String> w : weak.entrySet()) {
      Path file = dir.resolve("weak.secret");
      Files.writeString(file, w.getKey() + "\n");
      assertThatThrownBy(() -> valid().clusterSecret(file).build())
          .as(w.getKey())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("clusterSecret (file " + file + "): ")
          .hasMessageContaining(w.getValue())
          .hasMessageContaining("openssl rand -base64 32")
          .message()
          .doesNotContain(w.getKey());
    }
    assertThatThrownBy(() -> valid().clusterSecret(new byte[32]).build())
        .hasMessageContaining("clusterSecret (given to the builder)")
        .hasMessageContaining("take only 1 distinct values");
    // What the docs say to run, as base64 and as hex, and raw random bytes, are accepted.
    byte[] random = new byte[32];
    new java.security.SecureRandom().nextBytes(random);
    Path good = dir.resolve("good.secret");
    for (String text :
        List.of(
            java.util.Base64.getEncoder().encodeToString(random),
            java.util.HexFormat.of().formatHex(random))) {
      Files.writeString(good, text + "\n");
      assertThat(valid().clusterSecret(good).build()).isNotNull();
    }
    assertThat(valid().clusterSecret(random).build()).isNotNull();
  }

  @Test
  void aDataDirectoryOfAnotherClusterOrNodeIsRefusedAndLeftIntact() throws Exception {
    int port = TestCluster.freePort();
    Member a = Member.voter("a", "127.0.0.1:" + port);
    BatonNode first =
        BatonNode.builder()
            .clusterId("c1")
            .nodeId("a")
            .members(a)
            .dataDir(dir.resolve("a"))
            .timing(TestCluster.TIMING)
            .clusterSecret(TestCluster.newClusterSecret())
            .bootstrap(true)
            .build();
    first.start();
    first.awaitActive(Duration.ofSeconds(20));
    first.close();
    List<String> before = listing(dir.resolve("a"));

    BatonNode otherCluster =
        BatonNode.builder()
            .clusterId("c2")
            .nodeId("a")
            .members(a)
            .dataDir(dir.resolve("a"))
            .timing(TestCluster.TIMING)
            .clusterSecret(TestCluster.newClusterSecret())
            .build();
    assertThatThrownBy(otherCluster::start)
        .isInstanceOf(BatonException.class)
        .hasMessageContaining("belongs to cluster 'c1', not to cluster 'c2'")
        .hasMessageContaining("nothing was changed");
    BatonNode otherNode =
        BatonNode.builder()
            .clusterId("c1")
            .nodeId("b")
            .members(Member.voter("b", "127.0.0.1:" + port))
            .dataDir(dir.resolve("a"))
            .timing(TestCluster.TIMING)
            .clusterSecret(TestCluster.newClusterSecret())
            .build();
    assertThatThrownBy(otherNode::start)
        .hasMessageContaining("belongs to node 'a', not to node 'b'");
    assertThat(listing(dir.resolve("a"))).isEqualTo(before);

    Files.createDirectories(dir.resolve("foreign"));
    Files.writeString(dir.resolve("foreign/precious.txt"), "keep me");
    BatonNode foreign =
        BatonNode.builder()
            .clusterId("c1")
            .nodeId("a")
            .members(a)
            .dataDir(dir.resolve("foreign"))
            .timing(TestCluster.TIMING)
            .clusterSecret(TestCluster.newClusterSecret())
            .build();
    assertThatThrownBy(foreign::start)
        .hasMessageContaining("is not empty and has no baton-node.properties");
    assertThat(listing(dir.resolve("foreign"))).containsExactly("precious.txt:7");

    // The same identity starts again, and its token is higher than before.
    BatonNode again =
        BatonNode.builder()
            .clusterId("c1")
            .nodeId("a")
            .members(a)
            .dataDir(dir.resolve("a"))
            .timing(TestCluster.TIMING)
            .clusterSecret(TestCluster.newClusterSecret())
            .build();
    again.start();
    assertThat(again.awaitActive(Duration.ofSeconds(20))).isPresent();
    again.close();
  }

  private static List<String> listing(Path root) throws Exception {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile)
          .map(p -> root.relativize(p) + ":" + p.toFile().length())
          .sorted()
          .toList();
    }
  }
}
