package dev.baton.core;

/** The application-level role of a node. */
public enum Role {
  /** Holds the role, with a valid lease, and its promotion plan has completed. */
  ACTIVE,
  /** Has won the role and is running its promotion plan; not yet active. */
  PROMOTING,
  /** Giving the role up: demotion actions are running. */
  DEMOTING,
  /** Not active; may become active. */
  STANDBY,
  /** A witness or a never-activate voter: never active. */
  WITNESS,
  /** Not started, or closed. */
  STOPPED
}
