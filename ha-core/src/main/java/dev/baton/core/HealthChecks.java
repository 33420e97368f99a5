package dev.baton.core;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/** The built-in {@link HealthCheck}s: an HTTP endpoint, a TCP port, a command. */
public final class HealthChecks {
  private HealthChecks() {}

  /**
   * Healthy when a GET of {@code url} answers 2xx within the timeout (redirects are not followed: a
   * 3xx is unhealthy). For the plane's own health endpoint.
   */
  public static HealthCheck http(HealthCheck.Settings settings, URI url) {
    Objects.requireNonNull(url, "url");
    String scheme = url.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme)) {
      throw new IllegalArgumentException(
          "health check '" + settings.name() + "': url " + url + " is not http:// or https://");
    }
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(settings.timeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    HttpRequest request = HttpRequest.newBuilder(url).timeout(settings.timeout()).GET().build();
    return new Named(settings) {
      /**
       * One GET with a generous timeout, answer ignored: a cold JVM's first request loads the HTTP
       * client's classes and starts its selector thread (200-300 ms measured on a loaded 2-core
       * machine, against 3-30 ms for the next ones), and leaves a kept-alive connection behind.
       */
      @Override
      public void warmUp() throws Exception {
        HttpRequest once =
            HttpRequest.newBuilder(url)
                .timeout(max(settings.timeout(), WARM_UP_REQUEST_TIMEOUT))
                .GET()
                .build();
        try {
          client.send(once, HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
          // Down or not up yet: the first probe will say so.
        }
      }

      @Override
      public HealthResult check() throws Exception {
        HttpResponse<String> r;
        try {
          r = client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
          return HealthResult.unhealthy("GET " + url + ": " + describe(e));
        }
        if (r.statusCode() / 100 == 2) {
          return HealthResult.ok();
        }
        String body = r.body() == null ? "" : r.body().strip();
        return HealthResult.unhealthy(
            "GET "
                + url
                + " answered "
                + r.statusCode()
                + (body.isEmpty() ? "" : ": " + body.substring(0, Math.min(200, body.length()))));
      }
    };
  }

  /** Healthy when a TCP connection to {@code host:port} opens within the timeout. */
  public static HealthCheck tcp(HealthCheck.Settings settings, String host, int port) {
    Objects.requireNonNull(host, "host");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(
          "health check '" + settings.name() + "': port " + port + " is outside 1..65535");
    }
    int timeoutMillis = (int) Math.max(1, settings.timeout().toMillis());
    return new Named(settings) {
      @Override
      public HealthResult check() {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress(host, port), timeoutMillis);
          return HealthResult.ok();
        } catch (IOException e) {
          return HealthResult.unhealthy("connect to " + host + ":" + port + ": " + describe(e));
        }
      }
    };
  }

  /**
   * Healthy when {@code command} exits 0 within the timeout; one that overruns is killed with its
   * children. It runs with {@link ChildEnvironment}'s allow-list plus {@code passEnv}, never with
   * this process's whole environment, and its output is discarded.
   */
  public static HealthCheck exec(
      HealthCheck.Settings settings,
      List<String> command,
      Path workingDirectory,
      List<String> passEnv) {
    List<String> cmd = List.copyOf(command);
    List<String> pass = List.copyOf(passEnv);
    if (cmd.isEmpty() || cmd.get(0).isBlank()) {
      throw new IllegalArgumentException(
          "health check '" + settings.name() + "': the command is empty");
    }
    return new Named(settings) {
      @Override
      public HealthResult check() throws Exception {
        ProcessBuilder pb =
            new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        if (workingDirectory != null) {
          pb.directory(workingDirectory.toFile());
        }
        ChildEnvironment.restrict(pb, pass);
        Process p;
        try {
          p = pb.start();
        } catch (IOException e) {
          return HealthResult.unhealthy("cannot start " + cmd + ": " + e.getMessage());
        }
        try {
          if (!p.waitFor(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
            HookProcess.killTree(p);
            return HealthResult.unhealthy(
                cmd.get(0)
                    + " did not exit within "
                    + settings.timeout().toMillis()
                    + " ms; killed it");
          }
        } catch (InterruptedException e) {
          HookProcess.killTree(p);
          throw e;
        }
        int code = p.exitValue();
        return code == 0
            ? HealthResult.ok()
            : HealthResult.unhealthy(cmd.get(0) + " exited with status " + code);
      }
    };
  }

  private static final java.time.Duration WARM_UP_REQUEST_TIMEOUT = java.time.Duration.ofSeconds(1);

  private static java.time.Duration max(java.time.Duration a, java.time.Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  private static String describe(Exception e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : " " + m);
  }

  private abstract static class Named implements HealthCheck {
    private final Settings settings;

    Named(Settings settings) {
      this.settings = Objects.requireNonNull(settings, "settings");
    }

    @Override
    public Settings settings() {
      return settings;
    }

    @Override
    public String toString() {
      return "HealthCheck[" + settings.name() + "]";
    }
  }
}
