#!/usr/bin/python3
"""Unplanned failover of a Patroni-managed PostgreSQL pair, timed like Baton's FailoverBenchmark.

Starts, on loopback only: one etcd 3.4 member (DCS), two Patroni 3.0.2 nodes from
patroni.yml.template, each with a PostgreSQL 15 server on its own address (127.0.0.21 and .22, one
port). Each trial SIGKILLs the primary's Patroni and its PostgreSQL (postmaster and every backend),
then a client inserts one row every 5 ms directly into the other server (no proxy, no DNS: a lower
bound for what a client behind HAProxy or DNS would see) until one commits: time to writable. The
killed node is restarted and must rejoin as a streaming replica (Patroni runs pg_rewind) before the
next trial. Results go to a CSV in the format of dev.baton.benchmarks.report.Results.

Usage: failover.py --settings defaults|fast --trials N --out DIR
  defaults: ttl 30, loop_wait 10, retry_timeout 10 (Patroni's defaults)
  fast:     ttl 20, loop_wait 1,  retry_timeout 3  (the minimum Patroni accepts for ttl)
"""
import argparse, os, pwd, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = {"defaults": (30, 10, 10), "fast": (20, 1, 3)}
WAIT = 180.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free_on(*hosts):
    for _ in range(50):
        p = free_port()
        try:
            for h in hosts:
                with socket.socket() as s:
                    s.bind((h, p))
            return p
        except OSError:
            continue
    raise RuntimeError("no port free on " + ", ".join(hosts))


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def loadavg():
    with open("/proc/loadavg") as f:
        return "load average " + " ".join(f.read().split()[:3])


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return None


def wait_until(what, cond, timeout=WAIT, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(interval)
    raise TimeoutError("timed out after %.0f s waiting for %s" % (timeout, what))


class Node:
    def __init__(self, name, host, pg_port, api_port, etcd_port, work, timing):
        self.name, self.host, self.pg_port, self.api_port = name, host, pg_port, api_port
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data_dir = os.path.join(self.dir, "data")
        ttl, loop_wait, retry_timeout = timing
        with open(os.path.join(HERE, "patroni.yml.template")) as f:
            text = f.read()
        for k, v in dict(name=name, api_port=api_port, etcd_port=etcd_port, ttl=ttl,
                         loop_wait=loop_wait, retry_timeout=retry_timeout, pg_host=host,
                         pg_port=pg_port, data_dir=self.data_dir, dir=self.dir).items():
            text = text.replace("{%s}" % k, str(v))
        self.config = os.path.join(self.dir, "patroni.yml")
        with open(self.config, "w") as f:
            f.write(text)
        pg = pwd.getpwnam("postgres")
        for root, dirs, files in os.walk(self.dir):
            os.chown(root, pg.pw_uid, pg.pw_gid)
            for n in files:
                os.chown(os.path.join(root, n), pg.pw_uid, pg.pw_gid)
        self.proc = None

    def start(self):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.out = open(os.path.join(self.dir, "patroni.out"), "ab")
        self.proc = subprocess.Popen(prefix + ["patroni", self.config], stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def role(self):
        if http_status("http://127.0.0.1:%d/primary" % self.api_port) == 200:
            return "primary"
        if http_status("http://127.0.0.1:%d/replica" % self.api_port) == 200:
            return "replica"
        return None

    def log_tail(self, n):
        try:
            with open(os.path.join(self.dir, "patroni.log")) as f:
                lines = [l for l in f if "no action" not in l]
            return "".join("      " + l for l in lines[-n:])
        except OSError as e:
            return "      (no log: %s)" % e

    def postmaster_pid(self):
        with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
            return int(f.readline().strip())

    def kill(self):
        """SIGKILL to Patroni (the whole session runuser started) and to PostgreSQL (postmaster and
        backends, which are in the same session since Patroni forked them)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            pm = self.postmaster_pid()
            os.kill(pm, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=60)
            except Exception:
                os.killpg(self.proc.pid, signal.SIGKILL)


def write_once(host, port):
    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres",
                            connect_timeout=1, options="-c statement_timeout=2000")
    try:
        with conn.cursor() as c:
            c.execute("INSERT INTO bench_writes DEFAULT VALUES")
        conn.commit()
    finally:
        conn.close()


def query(host, port, sql):
    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres",
                            connect_timeout=1)
    try:
        with conn.cursor() as c:
            c.execute(sql)
            return c.fetchone()[0]
    finally:
        conn.close()


def caught_up(primary_host, replica_host, port):
    target = query(primary_host, port, "SELECT pg_current_wal_lsn()")
    return query(replica_host, port, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '%s') >= 0"
                 % target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--settings", choices=sorted(SETTINGS), required=True)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/results")
    a = ap.parse_args()
    if a.trials < 1:
        sys.exit("--trials must be at least 1")
    timing = SETTINGS[a.settings]
    work = tempfile.mkdtemp(prefix="baton-patroni-bench-")
    os.chmod(work, 0o755)
    etcd_client, etcd_peer = free_port(), free_port()
    pg_port = port_free_on("127.0.0.21", "127.0.0.22")
    etcd_log = open(os.path.join(work, "etcd.log"), "ab")
    etcd = subprocess.Popen(
        ["etcd", "--name", "e1", "--data-dir", os.path.join(work, "etcd"),
         "--listen-client-urls", "http://127.0.0.1:%d" % etcd_client,
         "--advertise-client-urls", "http://127.0.0.1:%d" % etcd_client,
         "--listen-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
         "--initial-cluster", "e1=http://127.0.0.1:%d" % etcd_peer],
        stdout=etcd_log, stderr=subprocess.STDOUT, start_new_session=True)
    nodes = [Node("p1", "127.0.0.21", pg_port, free_port(), etcd_client, work, timing),
             Node("p2", "127.0.0.22", pg_port, free_port(), etcd_client, work, timing)]
    rows = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    system = "patroni-" + a.settings
    print("start: %s; settings %s (ttl %d, loop_wait %d, retry_timeout %d); work dir %s"
          % (loadavg(), a.settings, *timing, work), flush=True)
    completed = False
    try:
        wait_until("etcd up", lambda: http_status("http://127.0.0.1:%d/health" % etcd_client) == 200)
        nodes[0].start()
        wait_until("p1 primary", lambda: nodes[0].role() == "primary")
        nodes[1].start()
        wait_until("p2 replica", lambda: nodes[1].role() == "replica")
        conn = psycopg2.connect(host=nodes[0].host, port=pg_port, user="postgres", dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute(
            "CREATE TABLE bench_writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())")
        conn.close()
        for trial in range(1, a.trials + 1):
            wait_until("one primary, one replica",
                       lambda: sorted(n.role() or "" for n in nodes) == ["primary", "replica"])
            primary = next(n for n in nodes if n.role() == "primary")
            other = next(n for n in nodes if n is not primary)
            # The replica streams and has replayed everything (Patroni's maximum_lag_on_failover
            # would refuse otherwise, and the client's table must be there).
            write_once(primary.host, pg_port)
            wait_until("%s replayed %s's WAL" % (other.name, primary.name),
                       lambda: caught_up(primary.host, other.host, pg_port))
            load = load1()
            t0 = time.monotonic()
            primary.kill()
            errors = {}
            while True:
                try:
                    write_once(other.host, pg_port)
                    break
                except psycopg2.Error as e:
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    errors.setdefault(msg, time.monotonic() - t0)
                    time.sleep(0.005)
                if time.monotonic() - t0 > WAIT:
                    for msg, at in errors.items():
                        print("    first seen at %6.0f ms: %s" % (at * 1000, msg), flush=True)
                    print("    %s's Patroni log ends:\n%s" % (other.name, other.log_tail(15)))
                    raise TimeoutError("no write on %s within %.0f s (logs kept in %s)"
                                       % (other.name, WAIT, work))
            ms = (time.monotonic() - t0) * 1000
            rows.append("%s,unplanned,%d,time_to_writable,%.1f,%.2f" % (system, trial, ms, load))
            print("trial %2d unplanned: kill %s -> writable on %s %6.0f ms (%s)"
                  % (trial, primary.name, other.name, ms, loadavg()), flush=True)
            for msg, at in errors.items():
                print("    first seen at %6.0f ms: %s" % (at * 1000, msg), flush=True)
            primary.start()
            wait_until("%s rejoined as replica" % primary.name, lambda: primary.role() == "replica",
                       timeout=300)
        completed = True
    finally:
        for n in nodes:
            n.stop()
        os.killpg(etcd.pid, signal.SIGTERM)
        etcd.wait(timeout=30)
        os.makedirs(a.out, exist_ok=True)
        out = os.path.join(a.out, "%s-failover-%s.csv" % (system, stamp))
        with open(out, "w") as f:
            f.write("system,scenario,trial,metric,value_ms,load1\n")
            f.write("".join(r + "\n" for r in rows))
        vals = sorted(float(r.split(",")[4]) for r in rows)
        if vals:
            pct = lambda p: vals[max(0, min(len(vals) - 1, -(-len(vals) * p // 100) - 1))]
            print("%s unplanned time_to_writable n=%d p50 %.0f ms p95 %.0f ms p99 %.0f ms max %.0f ms"
                  % (system, len(vals), pct(50), pct(95), pct(99), vals[-1]))
        print("end: %s; wrote %s" % (loadavg(), out), flush=True)
        if not os.environ.get("BATON_BENCH_KEEP") and completed:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
