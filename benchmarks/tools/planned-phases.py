#!/usr/bin/python3
"""Splits each planned switch of a FailoverBenchmark run into its phases, from the node logs.

Usage: planned-phases.py WORK_DIR   (FailoverBenchmark prints "work dir ..." at start and keeps it)

Each switch is "cold" when its target had not won the role since its JVM started (FailoverBenchmark's
first switch of a trial, to the node restarted seconds before) and "warm" otherwise (the second,
back to the node that had been running); the medians are given for each kind. Per switch: transfer (old active gives up the role -> new node won it, with failed leadership
transfer attempts), won -> old primary fenced, fenced -> PostgreSQL step done (promotion), PostgreSQL
-> DNS step done, and the total to ACTIVE. Then the median of each column.
"""
import glob, os, sys


def secs(line):
    h, m, s = line[:12].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: planned-phases.py WORK_DIR (a FailoverBenchmark work directory)")
    lines = []
    for f in glob.glob(os.path.join(sys.argv[1], "node-n*.log")):
        with open(f, errors="replace") as fh:
            lines += [l for l in fh if len(l) > 12 and l[2] == ":" and l[5] == ":" and l[8] == "."]
    lines.sort()
    rows, cur = [], None
    won_since_start = {}
    for l in lines:
        msg = l.split(" - ", 1)[1] if " - " in l else ""
        if msg.startswith("node ") and " started on " in msg:
            won_since_start[msg.split()[1]] = False
        if "won the role" in msg:
            node = msg.split(":", 1)[0]
            if cur is not None and "won" not in cur:
                cur["kind"] = "warm" if won_since_start.get(node) else "cold"
            won_since_start[node] = True
        if "giving up the role" in l and "SWITCH_ACTIVE" in l:
            cur = {"start": secs(l), "fails": 0}
        elif cur is None:
            continue
        elif "leadership transfer to" in l and "failed" in l:
            cur["fails"] += 1
        elif "won the role" in l:
            cur["won"] = secs(l)
        elif "fenced old primary" in l:
            cur["fenced"] = secs(l)
        elif "step 'postgres' completed" in l:
            cur["pg"] = secs(l)
        elif "step 'dns' completed" in l:
            cur["dns"] = secs(l)
        elif "ACTIVE with" in l and "won" in cur:
            cur["active"] = secs(l)
            if all(k in cur for k in ("fenced", "pg", "dns")):
                rows.append(cur)
            cur = None
    if not rows:
        sys.exit("no complete planned switch found in " + sys.argv[1])
    kinds = ("cold", "warm")
    cols = {k: {"transfer": [], "won->fenced": [], "fenced->promoted": [], "promoted->dns": [],
                "total": []} for k in kinds}
    for r in rows:
        kind = r["kind"]
        v = (r["won"] - r["start"], r["fenced"] - r["won"], r["pg"] - r["fenced"],
             r["dns"] - r["pg"], r["active"] - r["start"])
        for k, x in zip(cols[kind], v):
            cols[kind][k].append(x)
        print("%s: transfer %5.2f s (failed attempts %d)  won->fenced %5.2f s  fenced->promoted"
              " %5.2f s  promoted->dns %5.2f s  total %5.2f s"
              % (kind, v[0], r["fails"], v[1], v[2], v[3], v[4]))
    for kind in kinds:
        c = cols[kind]
        if c["total"]:
            print("medians of %d %s switches: " % (len(c["total"]), kind) + ", ".join(
                "%s %.2f s" % (k, sorted(x)[(len(x) - 1) // 2]) for k, x in c.items()))


if __name__ == "__main__":
    main()
