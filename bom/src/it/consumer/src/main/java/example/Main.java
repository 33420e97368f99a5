package example;

import dev.baton.core.BatonNode;
import dev.baton.core.BuildInfo;
import dev.baton.core.Member;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;

/**
 * Runs what the build resolved: a one-node Baton cluster on loopback that must become active. It
 * prints "version V" (the ha-core it runs) and "active token T", and exits 0, or exits 1 if the
 * node is not active within 60 s.
 */
public final class Main {
  public static void main(String[] args) throws Exception {
    System.out.println("version " + BuildInfo.current().version());
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    Path dataDir = Files.createTempDirectory("baton-consumer-");
    BatonNode node =
        BatonNode.builder()
            .clusterId("consumer")
            .nodeId("n1")
            .members(Member.voter("n1", "127.0.0.1:" + port))
            .dataDir(dataDir)
            .clusterSecret(secret)
            .bootstrap(true)
            .build();
    node.start();
    try {
      var active = node.awaitActive(Duration.ofSeconds(60));
      if (active.isEmpty()) {
        System.out.println("not active within 60 s: " + node.status());
        System.exit(1);
      }
      System.out.println("active token " + active.get().token());
    } finally {
      node.close();
    }
    // Compiled, not run: the README's embedding example (Embedding.java, added by the script).
    System.out.println("embedding example " + Embedding.class.getName());
  }
}
