package dev.baton.core;

/**
 * The outcome of a planned hand-over ({@link Cluster#stepDown}): the node that took the role and
 * its new token.
 */
public record Handover(String nodeId, long token) {}
