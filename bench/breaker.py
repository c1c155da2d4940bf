"""What the circuit breakers cost Redis: worker/breaker.lua's gates (host, then tenant) and
its record, run as the claim and finish scripts would call them, on a private redis-server.
Redis runs scripts one at a time, so its time per call bounds the jobs per second of the
whole fleet. Figures: Redis's own usec_per_call (INFO commandstats) and the calls per second
one pipelining client gets, for windows of 20 and 200 outcomes over 100 tenants.

Usage: /usr/bin/python3 bench/breaker.py [--calls N]. Prints a Markdown table.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))

from fleet import Fleet  # noqa: E402

SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
with open(os.path.join(SOURCE_DIR, "worker", "breaker.lua")) as f:
    LIBRARY = f.read()

GATE = (LIBRARY + "\nlocal now = tonumber(ARGV[3])\n"
        "if breaker_gate_host(ARGV[2], now) == 'open' then return 'open' end\n"
        "return breaker_gate_tenant(ARGV[1], ARGV[2], now)\n")
RECORD = (LIBRARY + "\nreturn breaker_record(ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], "
          "ARGV[5], ARGV[6], ARGV[7])\n")
TENANTS = 100
HOSTS = 3


def usec_per_call(r):
    stats = r.info("commandstats").get("cmdstat_evalsha", {})
    return stats.get("usec", 0), stats.get("calls", 0)


def measure(r, sha, make_args, calls):
    """Runs calls EVALSHAs in pipelined batches. Returns (calls per s, Redis us per call)."""
    r.config_resetstat()
    start = time.monotonic()
    for batch in range(0, calls, 500):
        pipe = r.pipeline(transaction=False)
        for i in range(batch, min(batch + 500, calls)):
            pipe.evalsha(sha, 0, *make_args(i))
        pipe.execute()
    elapsed = time.monotonic() - start
    usec, counted = usec_per_call(r)
    return calls / elapsed, usec / max(counted, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    opts = parser.parse_args()

    fleet = Fleet()
    fleet._start_redis()
    try:
        r = fleet.r
        gate, record = r.script_load(GATE), r.script_load(RECORD)
        now0 = 1_800_000_000_000
        rows = []
        for window in (20, 200):
            r.flushall()
            r.zadd("ccx:hosts", {f"h{h}": now0 for h in range(HOSTS)})
            # A failure rate under the threshold: the breakers stay closed and every gate
            # takes its cheapest path, as for a healthy fleet.
            settings = (f"enabled=1 window_calls={window} window_ms=600000 min_calls=5 "
                        "failure_pct=50 min_hosts=2")

            def record_args(i):
                return (f"t{i % TENANTS}", f"h{i % HOSTS}", now0 + i, int(i % 10 == 0), 0, 0,
                        settings)

            def gate_args(i):
                return (f"t{i % TENANTS}", f"h{i % HOSTS}", now0 + opts.calls + i)

            rate, usec = measure(r, record, record_args, opts.calls)
            rows.append((f"record, window {window}", rate, usec))
            rate, usec = measure(r, gate, gate_args, opts.calls)
            rows.append((f"gate host + tenant, window {window}", rate, usec))
    finally:
        fleet.stop(check_host=False)

    print(f"\nBreaker scripts on one Redis ({opts.calls} calls each, {TENANTS} tenants, "
          f"{HOSTS} hosts, pipelined by one client):\n")
    print("| script | calls/s | Redis us/call |")
    print("|---|---|---|")
    for name, rate, usec in rows:
        print(f"| {name} | {rate:.0f} | {usec:.1f} |")


if __name__ == "__main__":
    main()
