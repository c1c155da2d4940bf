"""A small ccx client: puts a job on ccx:jobs and waits for its result.

Needs redis-py and msgpack (Debian: python3-redis, python3-msgpack). The wire format is
docs/PROTOCOL.md. Results come back as dicts: text fields as str, byte fields (stdout,
stderr, compile output) as bytes.

    import redis, ccx_client
    r = redis.Redis.from_url("redis://127.0.0.1:6379")
    result = ccx_client.run(r, "python", b"print(42)", limits={"wall_ms": 2000})
    print(result["status"], result["stdout"])
"""

import argparse
import math
import os
import sys
import uuid

import msgpack
import redis

JOBS_STREAM = "ccx:jobs"
RESULT_PREFIX = "ccx:result:"
REPLY_PREFIX = "ccx:reply:"
CANCEL_PREFIX = "ccx:cancel:"
LEASE_PREFIX = "ccx:lease:"
CANCEL_TTL_S = 86400  # the shipped result_ttl_s

# Marks a job cancelled if it is still unanswered and its entry still queued (the same
# script as `ccx cancel`): "finished", "unknown", "running" or "pending".
_CANCEL_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'finished' end
if ARGV[1] == '' or #redis.call('XRANGE', KEYS[3], ARGV[1], ARGV[1]) == 0 then
    return 'unknown'
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
if redis.call('HGET', KEYS[4], 'state') == 'running' then return 'running' end
return 'pending'
"""
EXTENSIONS = {".py": "python", ".js": "node", ".c": "c", ".sh": "sh"}


def _as_bytes(data):
    return data.encode() if isinstance(data, str) else bytes(data)


def submit(r, language, source, stdin=b"", limits=None, tenant=None, meta=None, job_id=None,
           deadline=None):
    """Enqueues one job and returns its id (a fresh one unless job_id is given). deadline:
    ms since the Unix epoch on Redis's clock (see deadline_in); a job not started by then
    ends expired."""
    job_id = job_id or uuid.uuid4().hex
    job = {"id": job_id, "language": language, "source": _as_bytes(source),
           "stdin": _as_bytes(stdin)}
    if limits:
        job["limits"] = dict(limits)
    if tenant is not None:
        job["tenant"] = tenant
    if meta is not None:
        job["meta"] = meta
    if deadline is not None:
        job["deadline"] = int(deadline)
    # use_bin_type: bytes travel as msgpack bin and str as str, as the protocol wants.
    r.xadd(JOBS_STREAM, {"job": msgpack.packb(job, use_bin_type=True)})
    return job_id


def deadline_in(r, seconds):
    """A job deadline `seconds` from now on Redis's clock (the one workers compare with),
    for submit(deadline=...)."""
    now_s, now_us = r.time()
    return now_s * 1000 + now_us // 1000 + int(seconds * 1000)


def _entry_of(r, job_id):
    """The ccx:jobs entry id of job_id, or "" (the stream holds only the backlog and the
    jobs in flight, so the scan is short)."""
    start = "-"
    while True:
        entries = r.xrange(JOBS_STREAM, start, "+", count=200)
        if not entries:
            return ""
        for entry_id, fields in entries:
            entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            if entry_id == job_id:
                return entry_id
            try:
                job = msgpack.unpackb(fields.get(b"job", b""), raw=False)
            except Exception:
                continue
            if isinstance(job, dict) and job.get("id") == job_id:
                return entry_id
        start = "(" + entry_id


def cancel(r, job_id):
    """Cancels job_id. Returns "pending" (it will never run) or "running" (its worker stops
    it within a lease renewal beat; its result then has status cancelled), or "finished"
    (its result stands) or "unknown" (no such job queued or running): nothing changed."""
    entry = _entry_of(r, job_id)
    answer = r.eval(_CANCEL_SCRIPT, 4, RESULT_PREFIX + job_id, CANCEL_PREFIX + job_id,
                    JOBS_STREAM, LEASE_PREFIX + entry, entry, CANCEL_TTL_S)
    return answer.decode() if isinstance(answer, bytes) else answer


def decode(data):
    """A result (or event) from its msgpack bytes."""
    return msgpack.unpackb(data, raw=False)


def wait(r, job_id, timeout_s=60):
    """The result of job_id, waiting up to timeout_s; None if none came.

    The reply list is popped, so a second waiter falls back to the stored result."""
    reply = r.blpop([REPLY_PREFIX + job_id], timeout=max(1, math.ceil(timeout_s)))
    data = reply[1] if reply else r.get(RESULT_PREFIX + job_id)
    return decode(data) if data is not None else None


def run(r, language, source, timeout_s=60, **job):
    """submit() then wait(); job takes submit's keyword arguments."""
    return wait(r, submit(r, language, source, **job), timeout_s)


def _parse_args(argv):
    p = argparse.ArgumentParser(description="Run a file in ccx and print its output.")
    p.add_argument("file")
    p.add_argument("--lang", help="python, node, c or sh (default: from the file name)")
    p.add_argument("--redis", default=os.environ.get("CCX_REDIS_URL", "redis://127.0.0.1:6379"))
    p.add_argument("--stdin", help="file whose bytes become the job's stdin")
    p.add_argument("--tenant")
    p.add_argument("--wall-ms", type=int)
    p.add_argument("--memory-mb", type=int)
    p.add_argument("--timeout", type=float, default=120, help="seconds to wait for the result")
    return p.parse_args(argv)


def main(argv=None):
    args = _parse_args(argv)
    language = args.lang or EXTENSIONS.get(os.path.splitext(args.file)[1])
    if language is None:
        sys.exit(f"ccx_client: cannot tell the language of {args.file}; pass --lang")
    with open(args.file, "rb") as f:
        source = f.read()
    stdin = b""
    if args.stdin:
        with open(args.stdin, "rb") as f:
            stdin = f.read()
    limits = {k: v for k, v in (("wall_ms", args.wall_ms), ("memory_mb", args.memory_mb))
              if v is not None}

    r = redis.Redis.from_url(args.redis)
    result = run(r, language, source, timeout_s=args.timeout, stdin=stdin, limits=limits,
                 tenant=args.tenant)
    if result is None:
        sys.exit(f"ccx_client: no result within {args.timeout:g} s")

    sys.stdout.buffer.write(_as_bytes(result.get("stdout") or b""))
    sys.stdout.flush()
    sys.stderr.buffer.write(_as_bytes(result.get("stderr") or b""))
    print(f"ccx: id={result.get('id')} status={result.get('status')} "
          f"exit_code={result.get('exit_code')} wall_ms={result.get('wall_ms')}"
          + (f" reason={result['reason']}" if result.get("reason") else ""), file=sys.stderr)
    return 0 if result.get("status") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
