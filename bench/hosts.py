"""Jobs per second of Python hello with 1, 2 and 3 hosts (supervisors of 2 workers each) on
one Redis, and what Redis itself spent per job: commands and scripts counted from INFO
commandstats before and after the run. On one machine every host shares its cores, so the
figure says what the coordination costs, not how a real fleet of machines scales.

Usage (root): /usr/bin/python3 bench/hosts.py [--jobs N] [--rounds R]. Prints a Markdown
table; bench/run appends it to bench/results/latest.md.
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

from fleet import Fleet, require_root  # noqa: E402

HELLO = b"print('hello')\n"


def command_stats(r):
    """{command: calls} from INFO commandstats."""
    stats = r.info("commandstats")
    return {name.removeprefix("cmdstat_"): fields["calls"] for name, fields in stats.items()}


def run_jobs(r, jobs):
    """Pipelines jobs Python hello jobs and waits for every reply. Returns (seconds, not ok)."""
    prefix = "hosts-" + uuid.uuid4().hex[:8]
    ids = [f"{prefix}-{i}" for i in range(jobs)]
    start = time.monotonic()
    pipe = r.pipeline(transaction=False)
    for job_id in ids:
        pipe.xadd("ccx:jobs", {"job": msgpack.packb({"id": job_id, "language": "python",
                                                     "source": HELLO}, use_bin_type=True)})
    pipe.execute()
    not_ok = 0
    for job_id in ids:
        reply = r.blpop([f"ccx:reply:{job_id}"], timeout=300)
        if reply is None:
            raise RuntimeError(f"no reply for {job_id} within 300 s")
        not_ok += msgpack.unpackb(reply[1], raw=False)["status"] != "ok"
    return time.monotonic() - start, not_ok


def measure(host_count, jobs, rounds):
    first = Fleet(workers=2)
    first.start()
    hosts = [first]
    try:
        for _ in range(host_count - 1):
            host = Fleet(workers=2, redis_of=first)
            host.start()
            hosts.append(host)
        run_jobs(first.r, 20)  # every worker's waiting sandbox children are ready
        rates, per_job = [], []
        for _ in range(rounds):
            before = command_stats(first.r)
            seconds, not_ok = run_jobs(first.r, jobs)
            after = command_stats(first.r)
            if not_ok:
                raise RuntimeError(f"{not_ok} of {jobs} jobs were not ok")
            rates.append(jobs / seconds)
            per_job.append({c: (after.get(c, 0) - before.get(c, 0)) / jobs for c in after})
        return rates, per_job
    finally:
        for host in reversed(hosts):
            host.stop(check_host=host is first)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    require_root()

    lines = ["| hosts (2 workers each) | jobs/s (median of rounds) | commands Redis ran per job"
             " (inside scripts too) | scripts per job (EVAL/EVALSHA) | the most frequent |",
             "|---|---|---|---|---|"]
    for host_count in (1, 2, 3):
        rates, per_job = measure(host_count, args.jobs, args.rounds)
        merged = {c: statistics.median(p.get(c, 0) for p in per_job) for c in per_job[0]}
        merged.pop("info", None)  # the bench's own
        total = sum(merged.values())
        scripts = merged.get("eval", 0) + merged.get("evalsha", 0)
        top = sorted(((v, c) for c, v in merged.items() if v >= 0.05), reverse=True)[:5]
        lines.append(f"| {host_count} | {statistics.median(rates):.1f} | {total:.1f} | "
                     f"{scripts:.1f} | " + ", ".join(f"{c} {v:.2f}" for v, c in top) + " |")
    print(f"Hosts on one Redis, {args.jobs} Python hello jobs pipelined per round, "
          f"{args.rounds} rounds; counts include the supervisors' lease beats and the idle "
          f"workers' blocking reads during the round.\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
