"""Jobs per second a fleet sustains: pipelines N jobs onto ccx:jobs in one round trip, then
takes every reply with BLPOP. jobs/s = N / (time from the first XADD to the last reply).
With --tenants T the jobs go round-robin to T tenants (bench-t0, bench-t1, ...): with T above
1 nearly every job finds its worker's waiting sandbox children cloned for another tenant.

Prints one JSON object: jobs, elapsed_s, jobs_per_s, not_ok, statuses."""

import argparse
import collections
import json
import sys
import time
import uuid

import msgpack
import redis


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--redis", required=True)
    p.add_argument("--jobs", type=int, default=300)
    p.add_argument("--language", default="python")
    p.add_argument("--source", required=True, help="program file for every job")
    p.add_argument("--timeout", type=float, default=600, help="seconds for all replies")
    p.add_argument("--tenants", type=int, default=0,
                   help="round-robin over this many tenants (0: jobs name none)")
    args = p.parse_args()

    with open(args.source, "rb") as f:
        source = f.read()
    r = redis.Redis.from_url(args.redis)
    prefix = "bench-" + uuid.uuid4().hex[:8]
    ids = [f"{prefix}-{i}" for i in range(args.jobs)]

    start = time.monotonic()
    pipe = r.pipeline(transaction=False)
    for i, job_id in enumerate(ids):
        job = {"id": job_id, "language": args.language, "source": source}
        if args.tenants > 0:
            job["tenant"] = f"bench-t{i % args.tenants}"
        pipe.xadd("ccx:jobs", {"job": msgpack.packb(job, use_bin_type=True)})
    pipe.execute()

    statuses = collections.Counter()
    for job_id in ids:
        left = args.timeout - (time.monotonic() - start)
        reply = r.blpop([f"ccx:reply:{job_id}"], timeout=max(1, int(left))) if left > 0 else None
        if reply is None:
            sys.exit(f"throughput: no reply for {job_id} within {args.timeout:g} s")
        statuses[msgpack.unpackb(reply[1], raw=False)["status"]] += 1
    elapsed = time.monotonic() - start

    print(json.dumps({"jobs": args.jobs, "tenants": args.tenants, "elapsed_s": elapsed, "jobs_per_s": args.jobs / elapsed,
                      "not_ok": args.jobs - statuses["ok"], "statuses": dict(statuses)}))


if __name__ == "__main__":
    main()
