"""How fast a tenant that keeps probing the sandbox is stopped on every host: two hosts (two
supervisors with host names of their own, one Redis, 2 workers each), a stream of jobs of a
fresh tenant that each try a TCP socket (refused by the sandbox: a failure of the tenant), one
every 10 ms. Measured from the first job's XADD (its entry id, Redis's clock): when the
tenant's breaker_opened event came, and when the last of the hosts answered its first
circuit_open (that job's job_finished event). Shipped breaker settings but a window of 10
and min_calls 4, as in a small fleet. Several rounds, a fresh tenant each.

Usage (root): /usr/bin/python3 bench/breaker_fleet.py [--rounds R]. Prints a Markdown table.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))

from fleet import Fleet, decode, require_root  # noqa: E402

PROBER = b"import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
SUBMIT_EVERY_S = 0.010
ROUND_TIMEOUT_S = 60


def policy():
    return {"version": "bench-breaker-1",
            "defaults": {"breaker": {"enabled": True, "window_calls": 10, "window_ms": 60000,
                                     "min_calls": 4, "failure_pct": 50, "cooldown_ms": 600000,
                                     "probes": 1, "min_hosts": 2}}}


def entry_ms(entry_id):
    return int(entry_id.split(b"-")[0])


def one_round(r, hosts):
    """(failing jobs run, ms to breaker_opened, ms until every host refused) for a fresh
    tenant."""
    tenant = "probe-" + uuid.uuid4().hex[:6]
    stop = threading.Event()
    first = []

    def submit():
        while not stop.is_set():
            job = {"id": f"bk-{uuid.uuid4().hex[:12]}", "language": "python", "tenant": tenant,
                   "source": PROBER}
            entry = r.xadd("ccx:jobs", {"job": msgpack.packb(job, use_bin_type=True)})
            if not first:
                first.append(entry_ms(entry))
            time.sleep(SUBMIT_EVERY_S)

    thread = threading.Thread(target=submit)
    thread.start()
    opened_ms, refused_at, ran, cursor = None, {}, 0, "0-0"
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    try:
        while (opened_ms is None or len(refused_at) < len(hosts)) and \
                time.monotonic() < deadline:
            for _, entries in r.xread({"ccx:events": cursor}, block=200) or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    event = decode(fields[b"event"])
                    if event.get("tenant") != tenant:
                        continue
                    if event.get("kind") == "breaker_opened" and opened_ms is None:
                        opened_ms = event["ts"]
                    if event.get("kind") == "job_finished":
                        if event.get("status") == "circuit_open":
                            refused_at.setdefault(event["host"], event["ts"])
                        else:
                            ran += 1
    finally:
        stop.set()
        thread.join()
    if opened_ms is None or len(refused_at) < len(hosts):
        raise RuntimeError(f"round did not finish: opened={opened_ms} refused={refused_at}")
    return ran, opened_ms - first[0], max(refused_at.values()) - first[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    require_root()

    tmp = tempfile.mkdtemp(prefix="ccx-bench-breaker-")
    path = os.path.join(tmp, "policy.json")
    with open(path, "w") as f:
        json.dump(policy(), f)
    suffix = uuid.uuid4().hex[:6]
    hosts = [f"bench1-{suffix}", f"bench2-{suffix}"]
    fleets = []
    try:
        for host in hosts:
            fleet = Fleet(workers=2, hostname=host, config={"policy": path},
                          redis_of=fleets[0] if fleets else None)
            fleets.append(fleet)
            fleet.start()
        rows = [one_round(fleets[0].r, hosts) for _ in range(args.rounds)]
    finally:
        for fleet in reversed(fleets):
            fleet.stop(check_host=fleet is fleets[0])
        shutil.rmtree(tmp, ignore_errors=True)

    print("| round | failing jobs run | to breaker_opened | to every host refusing |")
    print("|---|---|---|---|")
    for i, (ran, opened, refused) in enumerate(rows, 1):
        print(f"| {i} | {ran} | {opened} ms | {refused} ms |")
    print(f"| median | {statistics.median(r[0] for r in rows)} | "
          f"{statistics.median(r[1] for r in rows)} ms | "
          f"{statistics.median(r[2] for r in rows)} ms |")


if __name__ == "__main__":
    main()
