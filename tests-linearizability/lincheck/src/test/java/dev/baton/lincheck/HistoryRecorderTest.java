package dev.baton.lincheck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.lincheck.io.HistoryFiles;
import dev.baton.lincheck.io.HistoryWriter;
import dev.baton.lincheck.models.Models;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HistoryRecorderTest {

  @TempDir Path dir;

  /**
   * Clients hammer a really atomic register (an AtomicReference per key) from several threads; the
   * recorded history must be linearizable, and must survive a trip through both file formats.
   */
  @Test
  void aConcurrentlyRecordedHistoryOfAnAtomicRegisterIsLinearizable() throws Exception {
    HistoryRecorder rec = new HistoryRecorder();
    List<AtomicReference<Long>> registers =
        List.of(new AtomicReference<>(), new AtomicReference<>());
    int threads = 4;
    int opsPerThread = 150;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int process = t;
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  ThreadLocalRandom rnd = ThreadLocalRandom.current();
                  for (int i = 0; i < opsPerThread; i++) {
                    int k = rnd.nextInt(registers.size());
                    AtomicReference<Long> reg = registers.get(k);
                    long v = rnd.nextLong(3);
                    switch (rnd.nextInt(3)) {
                      case 0 -> {
                        HistoryRecorder.Invocation op = rec.invoke(process, "read", "k" + k, null);
                        op.ok(reg.get());
                      }
                      case 1 -> {
                        HistoryRecorder.Invocation op = rec.invoke(process, "write", "k" + k, v);
                        reg.set(v);
                        op.ok();
                      }
                      default -> {
                        Long from = rnd.nextBoolean() ? null : v;
                        HistoryRecorder.Invocation op =
                            rec.invoke(
                                process, "cas", "k" + k, java.util.Arrays.asList(from, v + 1));
                        if (reg.compareAndSet(from, v + 1)) {
                          op.ok();
                        } else {
                          op.fail();
                        }
                      }
                    }
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    History h = rec.history();
    assertThat(h.operations()).hasSize(threads * opsPerThread);
    assertThat(h.isTimed()).isTrue();
    assertThat(h.events()).extracting(Event::index).isSorted();
    CheckResult r = Checker.check(h, Models.casRegister(null));
    assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(r.partitions()).hasSize(2);

    Path jsonl = dir.resolve("h.jsonl");
    Path edn = dir.resolve("h.edn");
    HistoryWriter.writeJsonLines(h, jsonl);
    HistoryWriter.writeEdn(h, edn);
    for (Path p : List.of(jsonl, edn)) {
      History back = HistoryFiles.read(p);
      assertThat(back.operations()).hasSize(h.operations().size());
      assertThat(Checker.check(back, Models.casRegister(null)).verdict())
          .isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Test
  void aStaleReadIsCaught() {
    AtomicLong clock = new AtomicLong();
    HistoryRecorder rec = new HistoryRecorder(clock::incrementAndGet);
    rec.invoke(0, "write", "x", 1).ok();
    rec.invoke(0, "write", "x", 2).ok();
    rec.invoke(1, "read", "x", null).ok(1); // a replica that lags behind
    CheckResult r = Checker.check(rec.history(), Models.register(null));
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.explanation().stateAfterPrefix()).isEqualTo("2");
  }

  @Test
  void unknownAndOpenOperations() {
    HistoryRecorder rec = new HistoryRecorder();
    rec.invoke(0, "write", 1).info();
    rec.invoke(1, "write", 2); // never completes
    rec.invoke(2, "read", null).ok(1L);
    History h = rec.history();
    assertThat(h.operations())
        .extracting(Operation::outcome)
        .containsExactly(Outcome.INFO, Outcome.OPEN, Outcome.OK);
    assertThat(Checker.check(h, Models.register(null)).verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void misuseIsRefused() {
    HistoryRecorder rec = new HistoryRecorder();
    HistoryRecorder.Invocation op = rec.invoke(0, "write", 1);
    assertThatThrownBy(() -> rec.invoke(0, "read", null))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already has an operation in progress");
    op.ok();
    assertThatThrownBy(op::fail).isInstanceOf(IllegalStateException.class);
    assertThat(rec.size()).isEqualTo(2);
    assertThat(Objects.requireNonNull(rec.history().operations().get(0).output())).isEqualTo(1L);
  }
}
