"""A ccx client: puts jobs on ccx:jobs, waits for their results, cancels them.

Needs redis-py and msgpack (Debian: python3-redis, python3-msgpack) and nothing else; the
wire format is docs/PROTOCOL.md. Copy this one file, or put its folder on sys.path.

    import ccx_client
    with ccx_client.Client("redis://127.0.0.1:6379") as ccx:
        result = ccx.run("python", "print(6 * 7)", limits={"wall_ms": 2000})
        print(result["status"], result.text)        # ok 42

Client's methods: submit() (returns the job id), wait() (one job's result, raising
CcxTimeoutError when none came in time), run() (both), result() (a lookup, None when there
is none), cancel(), close(). Results are Result objects: dicts of the protocol's result map
(text fields as str, stdout/stderr and the compile step's as bytes, the status as the
protocol's string) with a few accessors (text, stdout_text, stderr_text, ok,
raise_for_status()). Every status, `rejected` and `internal_error` included, is returned,
not raised; raise_for_status() raises CcxJobFailedError unless the status is `ok`.

Errors: CcxInvalidJobError (a job caught before sending: an unknown field, a job id or a
tenant with characters the protocol refuses, source and files both given...),
CcxTimeoutError (no result in time; says how long it waited and the job id),
CcxConnectionError (Redis unreachable; says the URL), all CcxError.

The module-level functions of the first version (submit, wait, run, cancel, decode,
deadline_in, taking a redis.Redis) stay as they were: wait() and run() there return None
when no result came in time instead of raising.

Run as a command it submits a file like `ccx submit` (see --help).
"""

import argparse
import difflib
import numbers
import os
import re
import sys
import time
import uuid

import msgpack
import redis

JOBS_STREAM = "ccx:jobs"
RESULT_PREFIX = "ccx:result:"
REPLY_PREFIX = "ccx:reply:"
CANCEL_PREFIX = "ccx:cancel:"
LEASE_PREFIX = "ccx:lease:"
CANCEL_TTL_S = 86400  # the shipped result_ttl_s
DEFAULT_URL = "redis://127.0.0.1:6379"

#: Every status a result can have (docs/PROTOCOL.md, Statuses).
STATUSES = ("ok", "error_exit", "signaled", "timeout", "cpu_limit", "memory_limit",
            "pids_limit", "output_limit", "policy_violation", "compile_error", "rejected",
            "internal_error", "cancelled", "expired", "dead_letter")
#: The limits a job may set (docs/PROTOCOL.md, The job map), each a positive integer.
LIMITS = ("wall_ms", "cpu_ms", "memory_mb", "pids", "output_bytes", "disk_mb")
#: What cancel() answers.
CANCEL_ANSWERS = ("pending", "running", "finished", "unknown")

_JOB_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TENANT = re.compile(r"[A-Za-z0-9._-]{1,64}")
# How long one BLPOP blocks before the stored result is looked at again: a reply is pushed
# once, so a second waiter on the same job finds the result within this.
_WAIT_SLICE_S = 2.0

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


# ---- errors ---------------------------------------------------------------------------

class CcxError(Exception):
    """Base class of every error this module raises."""


class CcxInvalidJobError(CcxError, ValueError):
    """A job refused before it was sent (nothing was added to ccx:jobs)."""


class CcxTimeoutError(CcxError, TimeoutError):
    """No result came for job_id within waited_s seconds. The job may still run and answer
    later: wait() or result() again."""

    def __init__(self, job_id, waited_s):
        self.job_id = job_id
        self.waited_s = waited_s
        super().__init__(f"no result for job {job_id!r} within {waited_s:g} s")


class CcxConnectionError(CcxError, ConnectionError):
    """Redis could not be reached (or the connection broke) at url (its password hidden)."""

    def __init__(self, url, cause):
        self.url = url
        self.cause = cause
        super().__init__(f"cannot reach Redis at {url}: {cause}")


class CcxJobFailedError(CcxError):
    """Raised by Result.raise_for_status() for any status but ok; .result is the result."""

    def __init__(self, result):
        self.result = result
        self.status = result.get("status")
        text = f"job {result.get('id')!r} ended {self.status}"
        if result.get("reason"):
            text += f": {result['reason']}"
        elif result.get("exit_code") is not None and self.status == "error_exit":
            text += f" (exit code {result['exit_code']})"
        elif result.get("signal_name"):
            text += f" ({result['signal_name']})"
        super().__init__(text)


# ---- results --------------------------------------------------------------------------

class Result(dict):
    """A job's result: the protocol's result map as a dict (compares equal to a plain dict
    of the same fields), with accessors. stdout and stderr are bytes, exactly as stored."""

    @property
    def status(self):
        """The protocol's status string: "ok", "error_exit", "rejected"... (STATUSES)."""
        return self.get("status")

    @property
    def ok(self):
        """True when the status is "ok"."""
        return self.get("status") == "ok"

    @property
    def stdout_text(self):
        """stdout decoded as UTF-8; bytes that are not UTF-8 become U+FFFD."""
        return _as_bytes(self.get("stdout") or b"").decode("utf-8", "replace")

    @property
    def stderr_text(self):
        """stderr decoded as UTF-8; bytes that are not UTF-8 become U+FFFD."""
        return _as_bytes(self.get("stderr") or b"").decode("utf-8", "replace")

    text = stdout_text

    def raise_for_status(self):
        """Raises CcxJobFailedError unless the status is ok; returns the result."""
        if not self.ok:
            raise CcxJobFailedError(self)
        return self

    check = raise_for_status


# ---- building and checking a job ------------------------------------------------------

def _as_bytes(data):
    return data.encode() if isinstance(data, str) else bytes(data)


def _is_bytes_like(data):
    return isinstance(data, (bytes, bytearray, memoryview, str))


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise CcxInvalidJobError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _check_path(path):
    if not isinstance(path, str):
        raise CcxInvalidJobError(f"files: every path must be a str, not {path!r}")
    raw = path.encode("utf-8", "surrogatepass")
    if not raw or len(raw) > 255 or "\0" in path or path[0] in "/-" or any(
            part in ("", ".", "..") for part in path.split("/")):
        raise CcxInvalidJobError(
            f"files: {path!r} is not a valid path (1 to 255 bytes, no NUL, not starting with "
            "'/' or '-', no empty, '.' or '..' part)")


def check_job_id(job_id):
    """Raises CcxInvalidJobError unless job_id is 1 to 128 of A-Z a-z 0-9 . _ : -."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise CcxInvalidJobError(
            f"job id {job_id!r} is not valid: 1 to 128 characters of A-Z a-z 0-9 . _ : -")
    return job_id


def build_job(language, source=None, *, files=None, main=None, stdin=None, args=None,
              limits=None, tenant=None, meta=None, deadline=None, max_attempts=None,
              job_id=None):
    """The job map (a dict ready for msgpack) of these fields, checked as far as a client
    can without the workers' config (ceilings and languages are theirs to check: a job
    over a ceiling comes back rejected). Raises CcxInvalidJobError."""
    if not isinstance(language, str) or not language:
        raise CcxInvalidJobError(f"language must be a non-empty str, not {language!r}")
    job = {"id": check_job_id(job_id) if job_id is not None else uuid.uuid4().hex,
           "language": language}
    if source is not None and files is not None:
        raise CcxInvalidJobError("give either source or files (with main), not both")
    if source is None and files is None:
        raise CcxInvalidJobError("give source, or files with main")
    if source is not None:
        if not _is_bytes_like(source):
            raise CcxInvalidJobError(f"source must be bytes or str, not {type(source).__name__}")
        if main is not None:
            raise CcxInvalidJobError("main goes with files; with source the entry file is the "
                                     "language's own (main.py, main.js...)")
        job["source"] = _as_bytes(source)
    else:
        if not isinstance(files, dict) or not files:
            raise CcxInvalidJobError("files must be a non-empty dict of path -> bytes or str")
        for path, content in files.items():
            _check_path(path)
            if not _is_bytes_like(content):
                raise CcxInvalidJobError(f"files[{path!r}] must be bytes or str")
        if main is None:
            raise CcxInvalidJobError("main is missing: with files it names the entry file")
        if main not in files:
            raise CcxInvalidJobError(f"main {main!r} does not name one of files")
        job["files"] = {path: _as_bytes(content) for path, content in files.items()}
        job["main"] = main
    if stdin is not None:
        if not _is_bytes_like(stdin):
            raise CcxInvalidJobError(f"stdin must be bytes or str, not {type(stdin).__name__}")
        job["stdin"] = _as_bytes(stdin)
    if args is not None:
        if isinstance(args, (str, bytes)) or not all(
                isinstance(a, str) and "\0" not in a for a in args):
            raise CcxInvalidJobError("args must be a list of str without NUL characters")
        job["args"] = list(args)
    if limits:
        if not isinstance(limits, dict):
            raise CcxInvalidJobError("limits must be a dict of limit name -> positive integer")
        for name, value in limits.items():
            if name not in LIMITS:
                hint = difflib.get_close_matches(str(name), LIMITS, 1)
                raise CcxInvalidJobError(
                    f"limits: {name!r} is not a known limit"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                    + f"; known: {', '.join(LIMITS)}")
            _positive_int(f"limits[{name!r}]", value)
        job["limits"] = {name: int(value) for name, value in limits.items()}
    if tenant is not None:
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
            raise CcxInvalidJobError(
                f"tenant {tenant!r} is not valid: 1 to 64 characters of A-Z a-z 0-9 . _ -")
        job["tenant"] = tenant
    if meta is not None:
        job["meta"] = meta
    if deadline is not None:
        # A whole float (time.time() * 1000 rounded) is accepted as the first version did.
        if isinstance(deadline, float) and deadline.is_integer():
            deadline = int(deadline)
        job["deadline"] = _positive_int("deadline (ms since the epoch, Redis's clock)",
                                        deadline)
    if max_attempts is not None:
        job["max_attempts"] = _positive_int("max_attempts", max_attempts)
    return job


def encode_job(job):
    """A job map as the msgpack bytes that go in the stream entry's `job` field."""
    try:
        # use_bin_type: bytes travel as msgpack bin and str as str, as the protocol wants.
        return msgpack.packb(job, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as e:
        raise CcxInvalidJobError(f"the job cannot be encoded as msgpack (meta?): {e}") from e


# ---- the first version's functions (a redis.Redis as first argument) -----------------

def submit(r, language, source=None, stdin=b"", limits=None, tenant=None, meta=None,
           job_id=None, deadline=None, *, files=None, main=None, args=None,
           max_attempts=None):
    """Enqueues one job and returns its id (a fresh one unless job_id is given). deadline:
    ms since the Unix epoch on Redis's clock (see deadline_in); a job not started by then
    ends expired. Raises CcxInvalidJobError before sending anything when the job is
    invalid (see build_job)."""
    job = build_job(language, source, files=files, main=main, stdin=stdin, args=args,
                    limits=limits, tenant=tenant, meta=meta, deadline=deadline,
                    max_attempts=max_attempts, job_id=job_id)
    _xadd(r, job)
    return job["id"]


def _xadd(r, job):
    """XADDs the job; returns its stream entry id (str)."""
    entry = r.xadd(JOBS_STREAM, {"job": encode_job(job)})
    return entry.decode() if isinstance(entry, bytes) else entry


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
    check_job_id(job_id)
    entry = _entry_of(r, job_id)
    answer = r.eval(_CANCEL_SCRIPT, 4, RESULT_PREFIX + job_id, CANCEL_PREFIX + job_id,
                    JOBS_STREAM, LEASE_PREFIX + entry, entry, CANCEL_TTL_S)
    return answer.decode() if isinstance(answer, bytes) else answer


def decode(data):
    """A result (or event) from its msgpack bytes."""
    return msgpack.unpackb(data, raw=False)


def _result_of(data):
    return Result(decode(data)) if data is not None else None


def lookup(r, job_id, entry_id=None):
    """The stored result of job_id (or of its stream entry entry_id, under which a job too
    large to read is answered), without waiting; None when there is none."""
    for key in _ids(job_id, entry_id):
        data = r.get(RESULT_PREFIX + key)
        if data is not None:
            return _result_of(data)
    return None


def _ids(job_id, entry_id):
    return [job_id] + ([entry_id] if entry_id and entry_id != job_id else [])


def _wait(r, job_id, timeout_s, entry_id=None):
    """The result, or None once timeout_s passed (None: wait for good). BLPOP on the reply
    list(s) in slices, looking at the stored result after each: the reply is pushed once, so
    another waiter may have popped it."""
    keys = [REPLY_PREFIX + i for i in _ids(job_id, entry_id)]
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        block_s = _WAIT_SLICE_S
        if deadline is not None:
            block_s = min(block_s, deadline - time.monotonic())
        if block_s > 0:
            # Redis takes a fractional timeout (6.0 on); 0 would block for good.
            reply = r.blpop(keys, timeout=max(round(block_s, 3), 0.001))
            if reply:
                return _result_of(reply[1])
        stored = lookup(r, job_id, entry_id)
        if stored is not None:
            return stored
        if deadline is not None and time.monotonic() >= deadline:
            return None


def wait(r, job_id, timeout_s=60):
    """The result of job_id, waiting up to timeout_s; None if none came.

    The reply list is popped, so a second waiter falls back to the stored result."""
    return _wait(r, job_id, max(timeout_s, 0))


def run(r, language, source=None, timeout_s=60, **job):
    """submit() then wait(); job takes submit's keyword arguments. None if no result came
    within timeout_s."""
    return wait(r, submit(r, language, source, **job), timeout_s)


# ---- the client -----------------------------------------------------------------------

def _redact(url):
    """url with its password (if any) replaced by ***."""
    return re.sub(r"^([a-z+-]+://[^:/@]*):[^@/]*@", r"\1:***@", url)


class Client:
    """A connection to one ccx fleet's Redis.

    Client(url) connects to a redis:// (or rediss://, unix://) URL, by default
    $CCX_REDIS_URL or redis://127.0.0.1:6379; Client(r) uses a redis.Redis you made (for
    example a Sentinel's master_for(): redis-py does not read redis-sentinel:// URLs). The
    connection is made on first use, so an unreachable Redis shows as CcxConnectionError
    from the first call. Thread-safe as redis-py is: each call takes a pooled connection,
    so threads may wait() for different jobs at once. Use it as a context manager, or call
    close().
    """

    def __init__(self, url=None, *, connect_timeout_s=5.0, socket_timeout_s=30.0):
        if isinstance(url, redis.Redis):
            self.redis = url
            kwargs = url.connection_pool.connection_kwargs
            self.url = _redact(f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
                               if "path" not in kwargs else f"unix://{kwargs['path']}")
        else:
            url = url or os.environ.get("CCX_REDIS_URL") or DEFAULT_URL
            if not isinstance(url, str):
                raise CcxInvalidJobError(f"url must be a str or a redis.Redis, not {url!r}")
            self.url = _redact(url)
            try:
                # socket_timeout stays above a BLPOP slice: a wait blocks that long.
                self.redis = redis.Redis.from_url(
                    url, socket_connect_timeout=connect_timeout_s,
                    socket_timeout=max(socket_timeout_s, _WAIT_SLICE_S + 5))
            except ValueError as e:
                raise CcxInvalidJobError(f"bad Redis URL {self.url}: {e}") from e
        self._entries = {}  # job id -> stream entry id, for jobs this client submitted
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<ccx_client.Client {self.url}{' closed' if self._closed else ''}>"

    def _call(self, what, *args, **kwargs):
        if self._closed:
            raise CcxError("this ccx client is closed")
        try:
            return what(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as e:
            raise CcxConnectionError(self.url, e) from e
        except redis.RedisError as e:
            raise CcxError(f"Redis at {self.url} answered an error: {e}") from e

    def submit(self, language, source=None, *, files=None, main=None, stdin=None, args=None,
               limits=None, tenant=None, meta=None, deadline=None, max_attempts=None,
               job_id=None, **unknown):
        """Enqueues a job and returns its id.

        language: "python", "node", "c", "sh" as shipped. Either source (bytes or str: the
        entry file) or files (path -> bytes or str) with main (the entry file's path).
        stdin: bytes or str. args: list of str for the program's command line. limits: a
        dict of LIMITS names to positive integers. tenant: str. meta: anything msgpack
        takes, echoed back in the result. deadline: ms since the epoch on Redis's clock
        (deadline_in() makes one); a job not started by then ends expired. max_attempts:
        runs ccx may spend on it. job_id: the id (1 to 128 of A-Z a-z 0-9 . _ : -); a
        fresh one by default. Raises CcxInvalidJobError (nothing sent) for an invalid job,
        unknown fields included, CcxConnectionError when Redis is unreachable.
        """
        if unknown:
            known = ("source", "files", "main", "stdin", "args", "limits", "tenant", "meta",
                     "deadline", "max_attempts", "job_id")
            name = sorted(unknown)[0]
            hint = difflib.get_close_matches(name, known, 1)
            raise CcxInvalidJobError(
                f"unknown job field {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; known: language, {', '.join(known)}")
        job = build_job(language, source, files=files, main=main, stdin=stdin, args=args,
                        limits=limits, tenant=tenant, meta=meta, deadline=deadline,
                        max_attempts=max_attempts, job_id=job_id)
        entry = self._call(_xadd, self.redis, job)
        if len(self._entries) >= 10000:  # forget the oldest: only a hint for wait()
            self._entries.pop(next(iter(self._entries)))
        self._entries[job["id"]] = entry
        return job["id"]

    def wait(self, job_id, timeout_s=60):
        """The result of job_id (a Result), waiting up to timeout_s seconds (None: for
        good). Raises CcxTimeoutError when none came in time: the job may still be queued
        or running; wait() again or look with result().

        BLPOPs ccx:reply:<id>; the reply is pushed once, so when another waiter popped it
        (or it was popped before) the stored ccx:result:<id> is returned instead. For a job
        this client submitted, the reply under its stream entry id is watched too (a job
        too large to read is answered there, with status rejected)."""
        check_job_id(job_id)
        if timeout_s is not None and not timeout_s > 0:
            raise CcxInvalidJobError(f"timeout_s must be above 0 (or None), not {timeout_s!r}")
        entry = self._entries.get(job_id)
        found = self._call(_wait, self.redis, job_id, timeout_s, entry)
        if found is None:
            raise CcxTimeoutError(job_id, timeout_s)
        self._entries.pop(job_id, None)
        return found

    def run(self, language, source=None, *, timeout_s=60, **job):
        """submit() then wait(): the Result, or CcxTimeoutError after timeout_s."""
        return self.wait(self.submit(language, source, **job), timeout_s)

    def result(self, job_id):
        """The stored result of job_id (a Result) without waiting; None when there is none
        (not answered yet, never submitted, or its result_ttl_s passed)."""
        check_job_id(job_id)
        return self._call(lookup, self.redis, job_id, self._entries.get(job_id))

    def cancel(self, job_id):
        """Cancels job_id, like `ccx cancel`. Returns "pending" (queued: it will never run,
        and is answered cancelled), "running" (its worker kills it within a lease renewal
        beat and answers cancelled, unless it ends on its own first), "finished" (its
        result stands) or "unknown" (no such job queued or running): in the last two
        nothing changed."""
        check_job_id(job_id)
        return self._call(cancel, self.redis, job_id)

    def deadline_in(self, seconds):
        """A deadline `seconds` from now on Redis's clock, for submit(deadline=...)."""
        return self._call(deadline_in, self.redis, seconds)

    def ping(self):
        """Checks that Redis answers; raises CcxConnectionError otherwise."""
        self._call(self.redis.ping)

    def close(self):
        """Closes the connections. Further calls raise CcxError; closing twice is fine."""
        if not self._closed:
            self._closed = True
            self.redis.close()


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

    try:
        with Client(args.redis) as ccx:
            result = ccx.run(language, source, timeout_s=args.timeout, stdin=stdin,
                             limits=limits, tenant=args.tenant)
    except CcxTimeoutError:
        sys.exit(f"ccx_client: no result within {args.timeout:g} s")
    except CcxError as e:
        sys.exit(f"ccx_client: {e}")

    sys.stdout.buffer.write(_as_bytes(result.get("stdout") or b""))
    sys.stdout.flush()
    sys.stderr.buffer.write(_as_bytes(result.get("stderr") or b""))
    print(f"ccx: id={result.get('id')} status={result.get('status')} "
          f"exit_code={result.get('exit_code')} wall_ms={result.get('wall_ms')}"
          + (f" reason={result['reason']}" if result.get("reason") else ""), file=sys.stderr)
    return 0 if result.get("status") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
