package dev.baton.core.internal;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * The names a certificate gives its holder: the subject's CN and every DNS subject-alternative
 * name. The control API authorises clients by them, the Raft port matches them against member ids.
 */
public final class CertificateNames {
  private CertificateNames() {}

  public static List<String> of(X509Certificate cert) {
    Set<String> names = new LinkedHashSet<>();
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          names.add(rdn.getValue().toString());
        }
      }
    } catch (InvalidNameException e) {
      // no usable subject; the SANs may still name the holder
    }
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          // 2 = dNSName (RFC 5280, 4.2.1.6)
          if (san.size() >= 2 && Integer.valueOf(2).equals(san.get(0))) {
            names.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // ignore malformed SANs: they cannot name anyone
    }
    return new ArrayList<>(names);
  }
}
