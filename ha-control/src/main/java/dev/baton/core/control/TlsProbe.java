package dev.baton.core.control;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Tells whether a control endpoint speaks TLS, for a client that has no credentials: a plaintext
 * gRPC call to a TLS listener is closed by the server and looks to gRPC like a node that is down
 * (UNAVAILABLE), so such a client would retry until its deadline and then print a guess. The probe
 * starts one TLS handshake with no client certificate and sends nothing else: a server that answers
 * with its certificate, or refuses ours with a TLS alert, speaks TLS. Whom it talks to does not
 * matter (nothing is trusted or sent), so every server certificate is accepted for this question
 * only.
 */
final class TlsProbe {
  private TlsProbe() {}

  /** True if {@code endpoint} ({@code host:port}) answered a TLS handshake within the timeout. */
  static boolean speaksTls(String endpoint, int timeoutMillis) {
    int colon = endpoint.lastIndexOf(':');
    String host = endpoint.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = Integer.parseInt(endpoint.substring(colon + 1));
    SSLContext context;
    try {
      context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new AnyServer()}, null);
    } catch (GeneralSecurityException e) {
      return false;
    }
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress(host, port), timeoutMillis);
      plain.setSoTimeout(timeoutMillis);
      try (SSLSocket tls =
          (SSLSocket) context.getSocketFactory().createSocket(plain, host, port, false)) {
        tls.startHandshake();
        return true;
      }
    } catch (SSLException e) {
      // A TLS server that wants a client certificate ends the handshake with an alert; a plaintext
      // server answers bytes that are no TLS record, or closes the connection.
      return String.valueOf(e.getMessage()).contains("Received fatal alert");
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static final class AnyServer implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
