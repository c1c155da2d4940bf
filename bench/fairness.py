"""How long one job of tenant B waits behind a flood of tenant A: N cheap A jobs (sh
printing one line) pipelined onto ccx:jobs, the intake left to admit them all, then one B
job. B's wait is the time from its XADD (the entry id's ms, Redis's clock) to its
job_started event (also Redis's clock), and the A jobs started in between are counted. The
rest of the flood is then dropped from A's ready list, not run. Several rounds, each on
the same fleet of 2 workers.

Usage (root): /usr/bin/python3 bench/fairness.py [--jobs N] [--rounds R]. Prints a Markdown
table, like bench/hosts.py.
"""

import argparse
import os
import statistics
import sys
import time
import uuid

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))

from fleet import Fleet, decode, require_root  # noqa: E402
# The flood's job and the script that drops what is left of it: the test's own, so that the
# bench measures what the test checks.
from test_fairness import DROP_QUEUED, SH_ONE_LINE  # noqa: E402


def job(tenant):
    return msgpack.packb({"id": f"fair-{uuid.uuid4().hex[:12]}", "language": "sh",
                          "tenant": tenant, "source": SH_ONE_LINE}, use_bin_type=True)


def wait_admitted(r, timeout_s=300):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        group = [g for g in r.xinfo_groups("ccx:jobs") if g["name"] == b"ccx-workers"][0]
        if group["lag"] == 0 and group["pending"] == 0:
            return
        time.sleep(0.05)
    raise RuntimeError("the intake did not admit the flood in time")


def one_round(r, flood_jobs):
    """Returns (B's wait in ms, A jobs started between B's XADD and its start, seconds the
    intake took to admit the flood)."""
    tenant_a = "flood-" + uuid.uuid4().hex[:6]
    start = r.xadd("ccx:events", {"event": msgpack.packb({"kind": "marker"})})
    pipe = r.pipeline(transaction=False)
    for _ in range(flood_jobs):
        pipe.xadd("ccx:jobs", {"job": job(tenant_a)})
    began = time.monotonic()
    pipe.execute()
    wait_admitted(r)
    admitted_s = time.monotonic() - began

    payload = job("late")
    b_id = msgpack.unpackb(payload, raw=False)["id"]
    entry = r.xadd("ccx:jobs", {"job": payload}).decode()
    reply = r.blpop([f"ccx:reply:{b_id}"], timeout=120)
    if reply is None:
        raise RuntimeError("tenant B's job got no reply")
    r.eval(DROP_QUEUED, 3, f"ccx:tq:{tenant_a}", "ccx:jobs", f"ccx:tenant:{tenant_a}")

    xadd_ms = int(entry.split("-")[0])
    between, started_ms = 0, None
    for eid, fields in r.xrange("ccx:events", start):
        event = decode(fields[b"event"])
        if event.get("kind") != "job_started":
            continue
        if event["job_id"] == b_id:
            started_ms = event["ts"]
            break
        if event["tenant"] == tenant_a and int(eid.decode().split("-")[0]) >= xadd_ms:
            between += 1
    if started_ms is None:
        raise RuntimeError("no job_started event for tenant B's job")
    time.sleep(2)  # the flood's running jobs end before the next round
    return started_ms - xadd_ms, between, admitted_s


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    require_root()

    fleet = Fleet(workers=2)
    fleet.start()
    try:
        rounds = [one_round(fleet.r, args.jobs) for _ in range(args.rounds)]
    finally:
        fleet.stop()

    waits = [w for w, _, _ in rounds]
    print(f"Tenant B behind a flood of {args.jobs} sh jobs of tenant A, 2 workers, "
          f"{args.rounds} rounds.\n")
    print("| round | B's wait, XADD to job_started | A jobs started meanwhile "
          "| intake admitted the flood in |")
    print("|---|---|---|---|")
    for i, (wait_ms, between, admitted_s) in enumerate(rounds, 1):
        print(f"| {i} | {wait_ms} ms | {between} | {admitted_s:.2f} s |")
    print(f"\nMedian wait: **{statistics.median(waits):.0f} ms**.")


if __name__ == "__main__":
    main()
