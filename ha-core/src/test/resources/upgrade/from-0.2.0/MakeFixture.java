// Writes the rolling-upgrade fixture: the data directories of a three-node cluster run by Baton
// 0.2.0 (commit 970eb11). Compiled and run against THAT release's ha-core by regenerate.sh, never
// by the current build (this file is a test resource, not a test source): see README.md.
import dev.baton.core.BatonNode;
import dev.baton.core.Member;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public class MakeFixture {
  static final String CLUSTER_ID = "upgrade-fixture-0.2.0";
  static final List<Member> MEMBERS =
      List.of(
          Member.voter("n1", "127.0.36.1:27361"),
          Member.voter("n2", "127.0.36.2:27362"),
          Member.voter("n3", "127.0.36.3:27363"));

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    Files.createDirectories(out);
    List<BatonNode> nodes = new ArrayList<>();
    List<Thread> starts = new ArrayList<>();
    for (Member m : MEMBERS) {
      BatonNode n =
          BatonNode.builder()
              .clusterId(CLUSTER_ID)
              .nodeId(m.id())
              .members(MEMBERS)
              .dataDir(out.resolve(m.id()))
              .bootstrap(true)
              .insecureTransport()
              .build();
      nodes.add(n);
      Thread t = new Thread(n::start);
      t.start();
      starts.add(t);
    }
    for (Thread t : starts) {
      t.join();
    }
    BatonNode first = awaitActive(nodes);
    long firstToken = first.token();
    first.kv().put("written-by", "baton 0.2.0".getBytes(StandardCharsets.UTF_8));
    first.kv().put("counter", "1".getBytes(StandardCharsets.UTF_8));
    // Move the role once, so the log holds two activations and the highest token is not the first.
    String target = first.id().equals("n1") ? "n2" : "n1";
    long secondToken = first.switchActive(target, Duration.ofSeconds(30));
    BatonNode second = awaitActive(nodes);
    if (!second.id().equals(target) || secondToken <= firstToken) {
      throw new IllegalStateException("switch to " + target + " gave " + second + " " + secondToken);
    }
    second.kv().put("counter", "2".getBytes(StandardCharsets.UTF_8));
    long highest = second.token();
    dev.baton.core.BuildInfo build = dev.baton.core.BuildInfo.current();
    String version = build.version() + " " + build.commit();
    // The standbys first, then the active: with two of three members down no node can activate, so
    // no token above `highest` is ever written (closing the active first let a standby activate).
    for (BatonNode n : nodes) {
      if (n != second) {
        n.close();
      }
    }
    second.close();
    Properties p = new Properties();
    p.setProperty("cluster.id", CLUSTER_ID);
    p.setProperty("written.by", version);
    p.setProperty("first.active", first.id());
    p.setProperty("first.token", Long.toString(firstToken));
    p.setProperty("last.active", second.id());
    p.setProperty("highest.token", Long.toString(highest));
    try (var w = Files.newBufferedWriter(out.resolve("fixture.properties"))) {
      p.store(w, "What MakeFixture saw while Baton 0.2.0 wrote these data directories");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    System.out.println("wrote " + out + ": " + p);
  }

  static BatonNode awaitActive(List<BatonNode> nodes) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < until) {
      for (BatonNode n : nodes) {
        if (n.isActive()) {
          return n;
        }
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException("no active node within 30 s");
  }
}
