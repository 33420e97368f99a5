/**
 * The linearizability checker: histories, the search, the models, history files and the timeline
 * report. The command line ({@code dev.baton.lincheck.cli}, what {@code bin/lincheck} runs) is not
 * API; picocli reads its options by reflection.
 */
module dev.baton.lincheck {
  requires com.fasterxml.jackson.databind;
  requires info.picocli;
  requires org.slf4j;
  requires static org.jspecify;

  exports dev.baton.lincheck;
  exports dev.baton.lincheck.io;
  exports dev.baton.lincheck.models;
  exports dev.baton.lincheck.report;

  opens dev.baton.lincheck.cli to
      info.picocli;
}
