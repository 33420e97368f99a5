/**
 * For Baton's own modules, not for applications: what the control API (module {@code ha-control},
 * package {@code dev.baton.core.control}; {@link dev.baton.core.spi.ControlSupport}) and the
 * testing module ({@code baton-testing}, the faults its fixtures inject; {@link
 * dev.baton.core.spi.TestSupport}) need of a node beyond ha-core's API, and nothing else.
 *
 * <p>The control server runs in the node's process and is more trusted than an embedder: it records
 * the asking client's certificate name with a maintenance change, takes the node's cluster secret
 * as its own default, and derives its TLS keys from that secret the way the Raft port does. None of
 * that belongs in the API ({@code dev.baton.core}); and no module's main code may name another
 * module's {@code internal} package (issue 30). This package is the narrow door between the two, in
 * ha-core, over the internals that do the work. The testing module's fixtures crash a node (stop
 * its Raft server without giving anything up), which is no method of the API either: a public
 * {@code crashForTesting()} on the node was one, seen by every embedder (deprecated for removal).
 *
 * <p><b>Not covered by the compatibility promise</b> (COMPATIBILITY.md): anything here may change
 * or go in any release, together with the Baton modules that use it, which are always released with
 * ha-core at the same version.
 */
package dev.baton.core.spi;
