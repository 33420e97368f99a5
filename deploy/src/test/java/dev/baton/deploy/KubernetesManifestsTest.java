package dev.baton.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.Member;
import dev.baton.sidecar.config.ConfigLoader;
import dev.baton.sidecar.config.FormerPrimaryGuardService;
import dev.baton.sidecar.config.SidecarConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * {@code deploy/kubernetes/}: every object is valid against the Kubernetes API schema
 * (kubernetes-models, pinned, from npm), and the validator rejects broken copies; each member pod
 * finds its own config by its name and that config loads with the sidecar's own loader; secrets are
 * files only; readiness does not depend on the role; the shared ConfigMap is never armed with
 * {@code bootstrap}; the Service to the active goes through HAProxy on {@code /active}, whose
 * config {@code haproxy -c} accepts. No cluster runs here: what that leaves unverified is in
 * deploy/kubernetes/README.md.
 */
class KubernetesManifestsTest {
  static final Path K8S = Prerequisites.DEPLOY.resolve("kubernetes");
  static final String SECRETS = "/etc/baton-secrets/";

  static List<SchemaValidator.Manifest> manifests;

  @TempDir Path dir;

  @BeforeAll
  static void load() throws Exception {
    manifests = new ArrayList<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(K8S)) {
      files = walk.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    for (Path f : files) {
      int i = 0;
      for (Object doc : yaml().loadAll(Files.readString(f))) {
        if (doc == null) {
          continue;
        }
        Map<String, Object> o = map(doc);
        manifests.add(
            new SchemaValidator.Manifest(
                K8S.relativize(f) + "#" + i++ + " " + o.get("kind") + "/" + name(o), o));
      }
    }
  }

  static Yaml yaml() {
    return new Yaml(new SafeConstructor(new LoaderOptions()));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object o) {
    return o == null ? List.of() : (List<Object>) o;
  }

  /** The value at a path of map keys, or null. */
  static Object at(Object o, String... keys) {
    for (String k : keys) {
      if (!(o instanceof Map<?, ?> m)) {
        return null;
      }
      o = m.get(k);
    }
    return o;
  }

  static String name(Map<String, Object> o) {
    return String.valueOf(at(o, "metadata", "name"));
  }

  static List<Map<String, Object>> ofKind(String kind) {
    return manifests.stream()
        .filter(m -> !m.ref().startsWith("bootstrap/"))
        .map(SchemaValidator.Manifest::object)
        .filter(o -> kind.equals(o.get("kind")))
        .toList();
  }

  static Map<String, Object> named(String kind, String name) {
    return ofKind(kind).stream()
        .filter(o -> name.equals(name(o)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  static List<Map<String, Object>> members() {
    return ofKind("StatefulSet").stream()
        .filter(
            s -> "true".equals(at(s, "spec", "template", "metadata", "labels", "baton.dev/member")))
        .toList();
  }

  static Map<String, Object> container(Map<String, Object> workload, String name) {
    return list(at(workload, "spec", "template", "spec", "containers")).stream()
        .map(KubernetesManifestsTest::map)
        .filter(c -> name.equals(c.get("name")))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no container " + name + " in " + name(workload)));
  }

  /** The selector matches the labels: every matchLabels (or plain selector) entry is present. */
  static boolean selects(Object selector, Object labels) {
    Map<String, Object> l = map(labels);
    return map(selector).entrySet().stream().allMatch(e -> e.getValue().equals(l.get(e.getKey())));
  }

  @Test
  void everyManifestIsValidAgainstTheKubernetesApiSchema() throws Exception {
    SchemaValidator validator = SchemaValidator.installed("KubernetesManifestsTest");
    List<SchemaValidator.Result> results = validator.validate(manifests, dir);
    assertThat(results).allSatisfy(r -> assertThat(r.ok()).as(r.ref() + ": " + r.error()).isTrue());
    Set<String> kinds = new TreeSet<>();
    manifests.forEach(m -> kinds.add(m.ref().substring(m.ref().indexOf(' ') + 1)));
    assertThat(kinds)
        .contains(
            "Namespace/mgmt-plane",
            "ConfigMap/baton-config",
            "StatefulSet/mgmt-east",
            "StatefulSet/mgmt-west",
            "StatefulSet/baton-witness",
            "StatefulSet/postgres-east",
            "StatefulSet/postgres-west",
            "Service/baton-peers",
            "Service/mgmt-active",
            "PodDisruptionBudget/baton-members",
            "Deployment/active-router");
    System.out.println("KubernetesManifestsTest: " + results.size() + " objects valid: " + kinds);
  }

  /**
   * The validator validates: copies with a wrong type, a missing required field, an unknown kind
   * and an unknown API version are each refused, with the path. An unknown field name is not: the
   * OpenAPI schema does not forbid extra properties (the API server's strict field validation
   * does), which is why the other tests here read the fields that matter by name.
   */
  @Test
  void theValidatorRefusesBrokenCopies() throws Exception {
    SchemaValidator validator = SchemaValidator.installed("KubernetesManifestsTest");
    List<SchemaValidator.Manifest> broken = new ArrayList<>();
    Map<String, Object> replicas = copy(named("StatefulSet", "mgmt-east"));
    map(replicas.get("spec")).put("replicas", "one");
    broken.add(new SchemaValidator.Manifest("replicas", replicas));
    Map<String, Object> noName = copy(named("StatefulSet", "mgmt-west"));
    container(noName, "baton").remove("name");
    broken.add(new SchemaValidator.Manifest("container-name", noName));
    Map<String, Object> port = copy(named("Service", "baton-peers"));
    map(list(at(port, "spec", "ports")).get(0)).put("port", "raft");
    broken.add(new SchemaValidator.Manifest("service-port", port));
    Map<String, Object> kind = copy(named("PodDisruptionBudget", "baton-members"));
    kind.put("kind", "PodDisruptionBudgett");
    broken.add(new SchemaValidator.Manifest("kind", kind));
    Map<String, Object> version = copy(named("PodDisruptionBudget", "baton-members"));
    version.put("apiVersion", "policy/v9");
    broken.add(new SchemaValidator.Manifest("version", version));
    Map<String, Object> unknownField = copy(named("StatefulSet", "mgmt-east"));
    container(unknownField, "baton").put("readinessProbee", Map.of());
    broken.add(new SchemaValidator.Manifest("unknown-field", unknownField));

    Map<String, SchemaValidator.Result> r = new LinkedHashMap<>();
    validator.validate(broken, dir).forEach(x -> r.put(x.ref(), x));
    assertThat(r.get("replicas").error()).contains("spec/replicas must be integer");
    assertThat(r.get("container-name").error()).contains("must have required property name");
    assertThat(r.get("service-port").error()).contains("spec/ports/0/port must be integer");
    assertThat(r.get("kind").error()).contains("no kind 'PodDisruptionBudgett' in policy/v1");
    assertThat(r.get("version").error()).contains("'policy/v9'");
    assertThat(r.get("unknown-field").ok())
        .as("the OpenAPI schema allows unknown fields (see deploy/kubernetes/README.md)")
        .isTrue();
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> copy(Map<String, Object> o) {
    return (Map<String, Object>) yaml().load(yaml().dump(o));
  }

  @Test
  void membersStartTogetherOneReplicaEachAndTheirReadinessIsTheRoleIndependentHealth() {
    List<Map<String, Object>> members = members();
    assertThat(members)
        .extracting(KubernetesManifestsTest::name)
        .containsExactlyInAnyOrder("mgmt-east", "mgmt-west", "baton-witness");
    for (Map<String, Object> s : members) {
      String n = name(s);
      assertThat(at(s, "spec", "replicas")).as(n).isEqualTo(1);
      assertThat(at(s, "spec", "podManagementPolicy")).as(n).isEqualTo("Parallel");
      assertThat(at(s, "spec", "serviceName")).as(n).isEqualTo("baton-peers");
      Map<String, Object> baton = container(s, "baton");
      for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
        assertThat(at(baton, probe, "httpGet", "path")).as(n + " " + probe).isEqualTo("/health");
      }
      // Nothing in a member pod may make its readiness depend on the role.
      assertThat(yaml().dump(at(s, "spec", "template"))).as(n).doesNotContain("/active");
      assertThat(at(s, "spec", "template", "spec", "readinessGates")).as(n).isNull();
      // The node id is the pod's name: the config file is picked by it.
      assertThat(list(baton.get("args"))).as(n).contains("/etc/baton/$(POD_NAME).yaml");
      assertThat(list(baton.get("env")))
          .as(n)
          .contains(
              Map.of(
                  "name",
                  "POD_NAME",
                  "valueFrom",
                  Map.of("fieldRef", Map.of("fieldPath", "metadata.name"))));
      // The data directory is the pod's own volume claim.
      assertThat(list(at(s, "spec", "volumeClaimTemplates")))
          .extracting(v -> at(v, "metadata", "name"))
          .containsExactly("data");
      assertThat(list(baton.get("volumeMounts")))
          .contains(Map.of("name", "data", "mountPath", "/var/lib/baton"));
    }
    // The plane and Baton share the pod (the plane reads /token on loopback).
    for (String site : List.of("mgmt-east", "mgmt-west")) {
      Map<String, Object> plane = container(named("StatefulSet", site), "plane");
      assertThat(yaml().dump(plane.get("env"))).contains("http://127.0.0.1:8008/token");
    }
  }

  @Test
  void secretsAreMountedAsFilesAndNeverInlineOrInTheEnvironment() {
    assertThat(manifests).noneMatch(m -> "Secret".equals(m.object().get("kind")));
    for (SchemaValidator.Manifest m : manifests) {
      String text = yaml().dump(m.object());
      assertThat(text).as(m.ref()).doesNotContain("secretKeyRef").doesNotContain("envFrom");
    }
    assertThat(secretFiles(named("StatefulSet", "mgmt-east")))
        .containsExactly("cluster.secret", "pg-password", "tsig.key");
    assertThat(secretFiles(named("StatefulSet", "mgmt-west")))
        .containsExactly("cluster.secret", "pg-password", "tsig.key");
    assertThat(secretFiles(named("StatefulSet", "baton-witness")))
        .containsExactly("cluster.secret");
    for (Map<String, Object> s : members()) {
      assertThat(list(container(s, "baton").get("volumeMounts")))
          .contains(Map.of("name", "secrets", "mountPath", "/etc/baton-secrets", "readOnly", true));
    }
  }

  /** The file names the pod's projected secrets volume provides under /etc/baton-secrets. */
  static Set<String> secretFiles(Map<String, Object> statefulSet) {
    Set<String> files = new TreeSet<>();
    for (Object v : list(at(statefulSet, "spec", "template", "spec", "volumes"))) {
      if ("secrets".equals(at(v, "name"))) {
        assertThat(at(v, "projected", "defaultMode")).isEqualTo(0440);
        for (Object source : list(at(v, "projected", "sources"))) {
          for (Object item : list(at(source, "secret", "items"))) {
            files.add(String.valueOf(at(item, "path")));
          }
        }
      }
    }
    return files;
  }

  /**
   * Test stand-ins for the files the pod's projected secrets volume provides ({@link
   * #secretFiles}), written in a new directory {@code name} under the test's temporary directory,
   * which it returns.
   */
  Path writeSecretFiles(Map<String, Object> statefulSet, String name) throws IOException {
    Path secrets = Files.createDirectories(dir.resolve(name));
    for (String f : secretFiles(statefulSet)) {
      Files.writeString(
          secrets.resolve(f),
          switch (f) {
            case "cluster.secret" -> Prerequisites.randomSecret();
            case "tsig.key" -> Prerequisites.randomTsigKey();
            default -> "test-only-password\n";
          });
    }
    return secrets;
  }

  /**
   * Each member pod's config, by its pod name, loaded by the sidecar's own {@link ConfigLoader}
   * with only the secret files its pod mounts (test secrets in a temporary directory standing for
   * /etc/baton-secrets); the shared ConfigMap never arms bootstrap, and the one-time bootstrap
   * variant is the same configs with bootstrap on.
   */
  @Test
  void eachPodFindsItsConfigByItsNameAndTheSidecarsLoaderAcceptsIt() throws Exception {
    Map<String, Object> shared = map(at(named("ConfigMap", "baton-config"), "data"));
    Map<String, Object> armed =
        map(
            at(
                manifests.stream()
                    .filter(m -> m.ref().startsWith("bootstrap/baton-config.yaml"))
                    .findFirst()
                    .orElseThrow()
                    .object(),
                "data"));
    assertThat(armed.keySet()).isEqualTo(shared.keySet());
    Set<String> pods = new TreeSet<>();
    members().forEach(s -> pods.add(name(s) + "-0"));
    assertThat(shared.keySet())
        .containsExactlyInAnyOrderElementsOf(pods.stream().map(p -> p + ".yaml").toList());

    for (Map<String, Object> s : members()) {
      String pod = name(s) + "-0";
      Path secrets = writeSecretFiles(s, pod + "-secrets");
      String text = String.valueOf(shared.get(pod + ".yaml"));
      assertThat(text).as(pod).doesNotContain("bootstrap");
      SidecarConfig c = load(pod, text, secrets);
      assertThat(c.nodeId()).isEqualTo(pod);
      assertThat(c.bootstrap()).isFalse();
      assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/baton/data"));
      assertThat(c.httpListen()).contains("0.0.0.0:8008");
      assertThat(c.members()).extracting(Member::id).containsExactlyInAnyOrderElementsOf(pods);
      for (Member m : c.members()) {
        assertThat(m.address()).isEqualTo(m.id() + ".baton-peers:7400");
      }
      assertThat(c.members().stream().filter(Member::eligible).map(Member::id))
          .containsExactlyInAnyOrder("mgmt-east-0", "mgmt-west-0");

      String armedText = String.valueOf(armed.get(pod + ".yaml"));
      SidecarConfig b = load(pod + "-bootstrap", armedText, secrets);
      assertThat(b.bootstrap()).as(pod + " in bootstrap/").isTrue();
      Map<String, Object> disarmed = map(yaml().load(armedText));
      disarmed.remove("bootstrap");
      assertThat(disarmed)
          .as(pod + ": bootstrap/ differs only by bootstrap: true")
          .isEqualTo(yaml().load(text));
    }
  }

  private SidecarConfig load(String name, String text, Path secrets) throws Exception {
    return ConfigLoader.load(write(name, text, secrets));
  }

  private SidecarConfig loadAsClient(String name, String text, Path secrets) throws Exception {
    return ConfigLoader.loadAsClient(write(name, text, secrets));
  }

  private Path write(String name, String text, Path secrets) throws Exception {
    Path file = dir.resolve(name + ".yaml");
    Files.writeString(file, text.replace(SECRETS, secrets + "/"));
    return file;
  }

  @Test
  void theMembersServicesAndDisruptionBudgetSelectTheRightPods() {
    Map<String, Object> peers = named("Service", "baton-peers");
    assertThat(at(peers, "spec", "clusterIP")).isEqualTo("None");
    assertThat(at(peers, "spec", "publishNotReadyAddresses")).isEqualTo(true);
    Map<String, Object> pdb = named("PodDisruptionBudget", "baton-members");
    assertThat(at(pdb, "spec", "minAvailable")).isEqualTo(2);
    for (Map<String, Object> s : members()) {
      Object labels = at(s, "spec", "template", "metadata", "labels");
      assertThat(selects(at(peers, "spec", "selector"), labels)).as(name(s)).isTrue();
      assertThat(selects(at(pdb, "spec", "selector", "matchLabels"), labels)).as(name(s)).isTrue();
      assertThat(selects(at(s, "spec", "selector", "matchLabels"), labels)).as(name(s)).isTrue();
    }
    Map<String, Object> router = named("Deployment", "active-router");
    Object routerLabels = at(router, "spec", "template", "metadata", "labels");
    assertThat(selects(at(named("Service", "mgmt-active"), "spec", "selector"), routerLabels))
        .isTrue();
    for (Map<String, Object> s : members()) {
      assertThat(
              selects(
                  at(named("Service", "mgmt-active"), "spec", "selector"),
                  at(s, "spec", "template", "metadata", "labels")))
          .as("mgmt-active must not select a member pod directly: " + name(s))
          .isFalse();
    }
  }

  /**
   * The Service to the active: HAProxy checks each site's {@code /active} and sends traffic to the
   * site that answers 200; {@code haproxy -c} accepts its config (the names resolve only in the
   * cluster, so those warnings alone are allowed), and refuses a broken copy.
   */
  @Test
  void theActiveServiceGoesThroughHaproxyCheckingActiveAndHaproxyAcceptsItsConfig()
      throws Exception {
    String cfg = String.valueOf(at(named("ConfigMap", "active-router"), "data", "haproxy.cfg"));
    assertThat(cfg)
        .contains("option httpchk GET /active")
        .contains("http-check expect status 200")
        .contains("check port 8008 inter 500ms fall 1 rise 1")
        .contains("server east mgmt-east-0.baton-peers.mgmt-plane.svc.cluster.local:9000")
        .contains("server west mgmt-west-0.baton-peers.mgmt-plane.svc.cluster.local:9000")
        .doesNotContain("baton-witness");
    if (!Prerequisites.onPath("haproxy") && !Files.isExecutable(Path.of("/usr/sbin/haproxy"))) {
      Prerequisites.missing(
          "KubernetesManifestsTest",
          "haproxy is not installed: it checks active-router.yaml's config (scripts/install-deps"
              + " installs it)");
    }
    String haproxy = Prerequisites.onPath("haproxy") ? "haproxy" : "/usr/sbin/haproxy";
    Path good = dir.resolve("haproxy.cfg");
    Files.writeString(good, cfg);
    Prerequisites.Run ok =
        Prerequisites.run(List.of(haproxy, "-c", "-f", good.toString()), dir, 60);
    assertThat(ok.exit()).as(ok.output()).isZero();
    assertThat(ok.output()).contains("Configuration file is valid");
    assertThat(ok.output().lines().filter(l -> l.contains("[WARNING]") || l.contains("[ALERT]")))
        .allMatch(l -> l.contains("could not resolve address"), "only unresolvable names");

    Path bad = dir.resolve("bad.cfg");
    Files.writeString(
        bad, cfg.replace("http-check expect status 200", "http-check expect statu 200"));
    Prerequisites.Run refused =
        Prerequisites.run(List.of(haproxy, "-c", "-f", bad.toString()), dir, 60);
    assertThat(refused.exit()).as(refused.output()).isNotZero();
    assertThat(Objects.requireNonNull(refused.output())).contains("statu");
  }

  /**
   * The guard's split on Kubernetes: each site's PostgreSQL pod has a {@code pg-guard} container
   * from the sidecar's image running {@code pg-guard --config} on the site member's own key of the
   * shared ConfigMap (the file the member's sidecar reads). That key says {@code runIn: pg-guard},
   * so the sidecar leaves the guard out, and it loads, with only the secret files the PostgreSQL
   * pod mounts, into one guard of that member's server, run outside the sidecar, without {@code
   * rejoin} (the kubelet owns the postmaster: README.md). The PostgreSQL pods are no members: the
   * peers' Service and the disruption budget do not select them.
   */
  @Test
  void eachSitesPostgresqlPodRunsTheGuardFromItsMembersOwnConfig() throws Exception {
    Map<String, Object> shared = map(at(named("ConfigMap", "baton-config"), "data"));
    for (String site : List.of("east", "west")) {
      String member = "mgmt-" + site + "-0";
      Map<String, Object> pg = named("StatefulSet", "postgres-" + site);
      assertThat(at(pg, "spec", "replicas")).isEqualTo(1);
      assertThat(at(pg, "spec", "template", "spec", "nodeSelector"))
          .isEqualTo(
              at(named("StatefulSet", "mgmt-" + site), "spec", "template", "spec", "nodeSelector"));
      assertThat(container(pg, "postgres")).isNotNull();
      Map<String, Object> guard = container(pg, "pg-guard");
      assertThat(guard.get("image"))
          .as("the guard is the sidecar's image, its other command")
          .isEqualTo(container(named("StatefulSet", "mgmt-" + site), "baton").get("image"));
      assertThat(list(guard.get("args")))
          .containsExactly("pg-guard", "--config", "/etc/baton/" + member + ".yaml");
      assertThat(list(guard.get("volumeMounts")))
          .contains(
              Map.of("name", "config", "mountPath", "/etc/baton", "readOnly", true),
              Map.of("name", "secrets", "mountPath", "/etc/baton-secrets", "readOnly", true));
      Object labels = at(pg, "spec", "template", "metadata", "labels");
      assertThat(selects(at(named("Service", "baton-peers"), "spec", "selector"), labels))
          .isFalse();
      assertThat(
              selects(
                  at(
                      named("PodDisruptionBudget", "baton-members"),
                      "spec",
                      "selector",
                      "matchLabels"),
                  labels))
          .isFalse();
      assertThat(selects(at(pg, "spec", "selector", "matchLabels"), labels)).isTrue();

      Path secrets = writeSecretFiles(pg, "postgres-" + site + "-secrets");
      // As pg-guard loads it (the dns step's TSIG key is not mounted in this pod).
      SidecarConfig c =
          loadAsClient("guard-" + member, String.valueOf(shared.get(member + ".yaml")), secrets);
      assertThat(c.nodeId()).isEqualTo(member);
      List<FormerPrimaryGuardService> guards =
          c.services().stream()
              .filter(FormerPrimaryGuardService.class::isInstance)
              .map(FormerPrimaryGuardService.class::cast)
              .toList();
      assertThat(guards).as(member).hasSize(1);
      assertThat(guards.get(0).inSidecar()).as(member + ": runIn: pg-guard").isFalse();
      assertThat(guards.get(0).server().address())
          .isEqualTo("pg-" + site + ".mgmt.example.com:5432");
      assertThat(guards.get(0).rejoinTools()).as(member + ": no rejoin in a pod").isEmpty();
    }
  }
}
