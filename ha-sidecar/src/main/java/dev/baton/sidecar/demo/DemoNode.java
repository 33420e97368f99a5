package dev.baton.sidecar.demo;

import dev.baton.core.LocalPorts;
import java.nio.file.Path;

/** One sidecar process of the demo and its addresses. */
final class DemoNode {
  final String id;
  final int raft = LocalPorts.next();
  final int control = LocalPorts.next();
  final int httpPort = LocalPorts.next();
  final Path log;
  Path config;
  Process process;

  /** Killed on purpose: the supervisor leaves it down. */
  boolean killed;

  DemoNode(String id, Path dir) {
    this.id = id;
    this.log = dir.resolve(id + ".log");
  }

  String url(String path) {
    return "http://127.0.0.1:" + httpPort + path;
  }
}
