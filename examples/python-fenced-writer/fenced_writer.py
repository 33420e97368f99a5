#!/usr/bin/python3
"""A fenced writer in Python: the SQL fence protocol of docs/fence-protocol.md, without Java.

Each transaction is BEGIN; SELECT baton.check_fence(resource, token); INSERT; COMMIT. The token
comes from the sidecar's local token endpoint (--token-url) or is fixed (--token, for tests);
the fence, not the token endpoint, is what refuses a stale writer. One JSON line per transaction
goes to stdout. Exit status: 0 once --count transactions committed, 1 when --max-attempts ran
out first, 2 on a bad command line. The password comes from libpq (PGPASSWORD, PGPASSFILE or
~/.pgpass), never from the command line.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

import psycopg2
from psycopg2 import extensions, sql

# Refusals by the fence (docs/fence-protocol.md); any other failure is an "error".
REFUSED = {"BT001", "BT002", "BT003", "BT004", "BT007", "BT008"}


class NoToken(Exception):
    """No token to write with: BT005, raised client-side as FencedDataSource does."""


class NotCommitted(Exception):
    """COMMIT answered something else (ROLLBACK): nothing was written."""


def parse_args(argv):
    p = argparse.ArgumentParser(description="Write rows through the Baton fence.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--token-url", help="URL answering JSON {\"token\": N, ...}")
    source.add_argument("--token", type=int, help="a fixed token (tests)")
    p.add_argument("--dsn", default=os.environ.get("BATON_WRITER_DSN"),
                   help="libpq connection string (default: $BATON_WRITER_DSN), without password")
    p.add_argument("--resolve", metavar="NAME",
                   help="find the primary's address through this DNS name (the A record Baton's"
                        " dns step moves) on every connect, instead of the DSN's host")
    p.add_argument("--dns-server", metavar="HOST:PORT",
                   help="ask this server for --resolve (default: the system resolver)")
    p.add_argument("--resource", default="orders", help="the fenced resource (default: orders)")
    p.add_argument("--table", default="fenced_writes", help="table to insert into, [schema.]name")
    p.add_argument("--schema", default="baton", help="the fence schema (default: baton)")
    p.add_argument("--writer", default="python-%d" % os.getpid(), help="value of the writer column")
    p.add_argument("--count", type=int, default=0, help="stop after N commits (0: never)")
    p.add_argument("--max-attempts", type=int, default=0,
                   help="stop after N transactions, exit 1 if --count was not reached (0: never)")
    p.add_argument("--interval-ms", type=int, default=1000, help="pause between transactions")
    args = p.parse_args(argv)
    if not args.dsn:
        p.error("no database: give --dsn or set BATON_WRITER_DSN")
    try:
        has_password = "password" in extensions.parse_dsn(args.dsn)
    except psycopg2.ProgrammingError:
        p.error("the DSN is not a valid libpq connection string")
    if has_password:
        p.error("the DSN holds a password: put it in PGPASSWORD or a PGPASSFILE instead")
    return args


def read_token(args):
    if args.token is not None:
        return args.token
    try:
        with urllib.request.urlopen(args.token_url, timeout=2) as answer:
            body = json.load(answer)
    except (OSError, ValueError) as e:  # unreachable, HTTP 503 (not active), not JSON
        raise NoToken("no token from %s: %s" % (args.token_url, e)) from e
    token = body.get("token") if isinstance(body, dict) else None
    if type(token) is not int:
        raise NoToken("no token in the answer of %s" % args.token_url)
    return token


def resolve(args):
    """The address the name points at now; asked on every connect, so a moved name is followed."""
    if args.dns_server:
        host, _, port = args.dns_server.rpartition(":")
        out = subprocess.run(["dig", "+short", "+time=2", "+tries=1", "@" + host, "-p", port,
                              args.resolve, "A"], capture_output=True, text=True, timeout=10)
        addresses = [l for l in out.stdout.split() if l and l[0].isdigit()]
    else:
        import socket
        addresses = [socket.gethostbyname(args.resolve)]
    if not addresses:
        raise OSError("%s has no address" % args.resolve)
    return addresses[0]


def message(e):
    diag = getattr(e, "diag", None)
    text = (diag.message_primary if diag is not None else None) or str(e)
    return " ".join(text.split())


def emit(seq, token, outcome, sqlstate, text):
    line = {"seq": seq, "token": token, "outcome": outcome, "sqlstate": sqlstate,
            "message": text, "t": int(time.time() * 1000)}
    print(json.dumps(line), flush=True)


def main(argv):
    args = parse_args(argv)
    table = sql.Identifier(*args.table.split("."))
    check = sql.SQL("SELECT {}.check_fence(%s, %s)").format(sql.Identifier(args.schema))
    insert = sql.SQL("INSERT INTO {} (token, writer) VALUES (%s, %s)").format(table)
    create = sql.SQL("CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, token bigint,"
                     " written_at timestamptz DEFAULT now(), writer text)").format(table)
    conn, seq, committed = None, 0, 0
    while True:
        seq += 1
        token = None
        try:
            token = read_token(args)
            if conn is None:
                where = {"host": resolve(args)} if args.resolve else {}
                conn = psycopg2.connect(args.dsn, connect_timeout=5,
                                        application_name="baton-python-writer", **where)
                conn.autocommit = True  # the transaction below is spelled out
                with conn.cursor() as cur:
                    cur.execute("SELECT to_regclass(%s) IS NULL", (table.as_string(conn),))
                    if cur.fetchone()[0]:
                        cur.execute(create)
            with conn.cursor() as cur:
                cur.execute("BEGIN")
                cur.execute(check, (args.resource, token))  # first: locks the fence row
                cur.execute(insert, (token, args.writer))
                cur.execute("COMMIT")
                if cur.statusmessage != "COMMIT":
                    raise NotCommitted("COMMIT answered " + str(cur.statusmessage))
            committed += 1
            emit(seq, token, "ok", None, None)
        except NoToken as e:
            emit(seq, None, "error", "BT005", str(e))
        except (OSError, subprocess.SubprocessError) as e:  # the name did not resolve
            emit(seq, token, "error", None, "resolving %s: %s" % (args.resolve, e))
        except (psycopg2.Error, NotCommitted) as e:
            state = getattr(e, "pgcode", None)
            emit(seq, token, "refused" if state in REFUSED else "error", state, message(e))
            if conn is not None:  # reconnect, and re-read the token, before the next try
                conn.close()
                conn = None
        if args.count and committed >= args.count:
            return 0
        if args.max_attempts and seq >= args.max_attempts:
            return 1
        time.sleep(args.interval_ms / 1000.0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
