"""A real ccx fleet for the integration suites: a private redis-server on a free loopback
port and the built ccx-supervisor with its workers, in a fresh temp dir.

Suites derive from FleetTestCase: one fleet per class (setUpClass), stopped in
tearDownClass, which then fails the class if anything was left behind on the host. When a
test fails, the supervisor's log lines written during that test are printed.

Binaries come from $CCX_BUILD_DIR/bin (ctest sets it; default <repo>/build).

With $CCX_TEST_PREFIX set (a short name), the fleet runs from a config of its own whose
cgroup parent and run dir carry that name (ccx-<name>, /run/ccx-<name>), and only those are
checked for leftovers: suites of several checkouts can then run side by side.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import msgpack
import redis

SOURCE_DIR = os.path.abspath(
    os.environ.get("CCX_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("CCX_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"))
BIN_DIR = os.path.join(BUILD_DIR, "bin")
PYTHON = "/usr/bin/python3"  # Debian's: it has python3-redis and python3-msgpack

JOBS_STREAM = "ccx:jobs"
EVENTS_STREAM = "ccx:events"
WORKER_GROUP = "ccx-workers"
CCX_PROCESS_NAMES = ("ccx-worker", "ccx-supervisor")

SUPERVISOR_STOP_S = 45  # longer than the fleet config's shutdown grace
SHUTDOWN_GRACE_S = 30
RESULT_WAIT_S = 120


def free_port():
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name):
    path = os.path.join(BIN_DIR, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is missing: build first (scripts/build) or set CCX_BUILD_DIR")
    return path


def require_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("the sandbox needs root (user namespaces with a uid range, "
                                "cgroups); run as root, e.g. sudo scripts/test")


def as_bytes(value):
    """Byte fields of a result as bytes even if a producer sent them as str."""
    if value is None:
        return b""
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value


def decode(data):
    # Text that is not UTF-8 must not crash the harness; as_bytes() restores it.
    return msgpack.unpackb(data, raw=False, unicode_errors="surrogateescape")


def new_job_id():
    return "it-" + uuid.uuid4().hex


def _proc_stat(pid):
    """(comm, state, ppid) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    state, ppid = text[text.rindex(")") + 2:].split()[:2]
    return comm, state, int(ppid)


def is_intake(pid):
    """True for a host's intake (ccx-worker --intake): a child of the supervisor that runs no
    job and holds no lease."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"--intake" in f.read().split(b"\0")
    except OSError:
        return False


def _all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def descendants(root_pid):
    """Pids of every live process below root_pid."""
    children = {}
    for pid in _all_pids():
        stat = _proc_stat(pid)
        if stat:
            children.setdefault(stat[2], []).append(pid)
    found, todo = set(), [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def ccx_processes(known_pids=()):
    """Live ccx-worker/ccx-supervisor processes that are ours: started from BIN_DIR or seen
    under our supervisor. (Zombies hold nothing but a pid and are not counted.)"""
    ours = []
    bin_dir = os.path.realpath(BIN_DIR) + "/"
    for pid in _all_pids():
        stat = _proc_stat(pid)
        if not stat or stat[0] not in CCX_PROCESS_NAMES or stat[1] == "Z":
            continue
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            exe = ""
        if pid in known_pids or exe.startswith(bin_dir):
            ours.append(f"process {stat[0]} pid {pid} ({exe or 'exe unreadable'})")
    return ours


def fleet_names():
    """(cgroup parent, run dir) of the fleets this process starts: see CCX_TEST_PREFIX."""
    prefix = os.environ.get("CCX_TEST_PREFIX")
    if not prefix:
        return "ccx", "/run/ccx"
    if not prefix.replace("-", "").isalnum():
        raise RuntimeError(f"CCX_TEST_PREFIX={prefix!r}: letters, digits and '-' only")
    return f"ccx-{prefix}", f"/run/ccx-{prefix}"


def _merge(config, overrides):
    """Puts overrides into config: nested objects key by key, anything else replaced."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            _merge(config[key], value)
        else:
            config[key] = value


def breakers_off(policy):
    """policy (a policy document) with every circuit breaker off, the hosts' included."""
    policy.setdefault("defaults", {})["breaker"] = {"enabled": False}
    for tenant in policy.get("tenants", {}).values():
        tenant.pop("breaker", None)
    return policy


def fleet_policy(path):
    """Writes the shipped policy to path with the circuit breakers off, and returns path.
    Suites run many failing and refused jobs on purpose, from one tenant and one host: with
    breakers on, one test's failures would refuse the next test's jobs circuit_open. The
    breakers' own suites turn them on."""
    with open(os.path.join(SOURCE_DIR, "deploy", "policy.json")) as f:
        policy = breakers_off(json.load(f))
    with open(path, "w") as f:
        json.dump(policy, f, indent=2)
    return path


def fleet_config(path, overrides=None):
    """Writes the shipped config, with this process's cgroup parent, run dir and a short
    shutdown grace, and then the overrides (a dict; nested objects are merged key by key, so
    {"sandbox": {"tmp_mb": 8}} changes that one field; "policy": None drops the policy
    file), to path."""
    with open(os.path.join(SOURCE_DIR, "deploy", "ccx.json")) as f:
        config = json.load(f)
    cgroup_parent, run_dir = fleet_names()
    config["shutdown_grace_s"] = SHUTDOWN_GRACE_S
    config["sandbox"]["cgroup_parent"] = cgroup_parent
    config["sandbox"]["run_dir"] = run_dir
    config["sandbox"]["seccomp_profile"] = os.path.join(SOURCE_DIR, "deploy",
                                                        config["sandbox"]["seccomp_profile"])
    config["policy"] = fleet_policy(os.path.join(os.path.dirname(path), "fleet-policy.json"))
    _merge(config, overrides or {})
    # {"policy": None}: no policy file, so the built-in policy (a config whose ceilings are
    # below the shipped policy's limits would have that file refused).
    if config.get("policy") is None:
        config.pop("policy", None)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return config


def host_leftovers(known_pids=()):
    """Everything a stopped fleet must not leave: processes, cgroups, mounts."""
    cgroup_parent, run_dir = fleet_names()
    found = ccx_processes(known_pids)
    for path in [f"/sys/fs/cgroup/{cgroup_parent}"] + sorted(
            glob.glob(f"/sys/fs/cgroup/*/{cgroup_parent}")):
        if os.path.isdir(path):
            found.append(f"cgroup directory {path}")
            # Tenant parents (t-<name>-<hash>) and the step cgroups in them keep it there.
            found.extend(f"cgroup directory {sub}" for sub in sorted(
                glob.glob(f"{path}/t-*") + glob.glob(f"{path}/t-*/w*")))
    with open("/proc/mounts") as f:
        for line in f:
            mount_point = line.split()[1]
            if mount_point == run_dir or mount_point.startswith(run_dir + "/"):
                found.append(f"mount {mount_point}")
    return found


class Fleet:
    """redis-server + ccx-supervisor, owned by one test class. With redis_of (another
    Fleet), the fleet starts no redis-server of its own but serves that fleet's, as a second
    host would; stopping it leaves that Redis running."""

    def __init__(self, workers=2, env=None, config=None, redis_of=None, hostname=None):
        self.workers = workers
        # A host name of its own (a UTS namespace): the fleet is then another host to ccx,
        # as the circuit breakers' host rules need.
        self.hostname = hostname
        self.env = dict(os.environ, **(env or {}))
        self.tmp = tempfile.mkdtemp(prefix="ccx-it-")
        self.log_path = os.path.join(self.tmp, "supervisor.log")
        self.config_path = os.path.join(self.tmp, "ccx.json")
        self.config = fleet_config(self.config_path, config)
        self.redis_proc = None
        self.supervisor = None
        self.url = None
        self.r = None
        self.seen_pids = set()
        self.redis_of = redis_of
        self.supervisor_args = []  # more arguments for ccx-supervisor (--metrics-listen ...)

    # -- life cycle --------------------------------------------------------------------

    def start(self):
        try:
            if self.redis_of is None:
                self._start_redis()
            else:
                self.url = self.redis_of.url
                # A Sentinel URL is not redis-py's: such a redis_of brings its own client.
                self.r = getattr(self.redis_of, "r", None) or \
                    redis.Redis.from_url(self.url, socket_connect_timeout=5)
            self._start_supervisor()
        except BaseException:
            self.print_log("supervisor log (start failed)")
            self.stop()
            raise

    def restart_redis(self):
        """Stops redis-server and starts it again on the same port, empty: it keeps no data
        on disk, as after a crash without persistence."""
        port = int(self.url.rsplit(":", 1)[1])
        self.redis_proc.terminate()
        self.redis_proc.wait(timeout=10)
        self._start_redis(port)

    def _start_redis(self, port=None):
        port = port or free_port()
        with open(os.path.join(self.tmp, "redis.log"), "wb") as log:
            self.redis_proc = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                 "--appendonly", "no", "--dir", self.tmp, "--daemonize", "no"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"redis://127.0.0.1:{port}"
        self.r = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=5)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.r.ping()
                return
            except redis.ConnectionError:
                if self.redis_proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not come up: " + self._read("redis.log"))
                time.sleep(0.05)

    def kill_supervisor(self):
        """SIGKILLs the supervisor, as a host that dies would; its workers die with it
        (parent-death signal). Returns once it is reaped."""
        self.seen_pids |= descendants(self.supervisor.pid)
        self.supervisor.kill()
        self.supervisor.wait(10)

    def start_supervisor(self):
        """Starts a new supervisor on the same Redis and config, its log appended to the
        old one's."""
        self._start_supervisor(mode="ab")

    def _start_supervisor(self, mode="wb"):
        with open(self.log_path, mode) as log:
            argv = [binary("ccx-supervisor"), "--redis", self.url, "--workers",
                    str(self.workers), "--config", self.config_path] + list(self.supervisor_args)
            if self.hostname:
                argv = ["unshare", "--uts", "--", "/bin/sh", "-c", 'hostname "$0" && exec "$@"',
                        self.hostname] + argv
            self.supervisor = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        # Jobs added before the workers' consumer group exists could be skipped by it, so
        # wait for the group and for every worker to have joined it (beside the consumers
        # of any fleet already on this Redis).
        deadline = time.monotonic() + 30
        expected = self.workers + max(self._consumers(), 0)
        while self._consumers() < expected:
            if self.supervisor.poll() is not None:
                raise RuntimeError(f"ccx-supervisor exited at start ({self.supervisor.returncode})")
            if time.monotonic() > deadline:
                if self._consumers() >= 0:
                    break  # the group exists: jobs are kept for whoever joins
                raise RuntimeError(f"no worker group {WORKER_GROUP} on {JOBS_STREAM} after 30 s")
            time.sleep(0.1)
        self.seen_pids |= descendants(self.supervisor.pid)

    def _consumers(self):
        """Consumers in the workers' group; -1 while the group does not exist."""
        try:
            groups = self.r.xinfo_groups(JOBS_STREAM)
        except redis.ResponseError:
            return -1  # no stream yet
        for group in groups:
            if as_bytes(group.get("name")) == WORKER_GROUP.encode():
                return int(group.get("consumers", 0))
        return -1

    def stop(self, check_host=True):
        """Stops everything, removes the temp dir and returns what was left on the host
        (nothing is checked without check_host: another fleet on this host still runs)."""
        notes = []
        if self.supervisor is not None:
            notes += self._stop_supervisor()
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            try:
                self.redis_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.redis_proc.kill()
                self.redis_proc.wait()
        if self.r is not None:
            self.r.close()
        leftovers = self._wait_clean() if check_host else []
        if notes or leftovers:
            print("\n".join(notes), file=sys.stderr)
            self.print_log("supervisor log")
        shutil.rmtree(self.tmp, ignore_errors=True)
        if os.path.exists(self.tmp):
            leftovers.append(f"temp dir {self.tmp}")
        return leftovers

    def _stop_supervisor(self):
        sup = self.supervisor
        if sup.poll() is not None:
            return [f"ccx-supervisor had already exited with status {sup.returncode}"]
        self.seen_pids |= descendants(sup.pid)
        sup.send_signal(signal.SIGTERM)
        try:
            sup.wait(SUPERVISOR_STOP_S)
        except subprocess.TimeoutExpired:
            sup.kill()
            sup.wait()
            return [f"ccx-supervisor ignored SIGTERM for {SUPERVISOR_STOP_S} s; killed"]
        if sup.returncode != 0:
            return [f"ccx-supervisor exited with status {sup.returncode} after SIGTERM"]
        return []

    def _wait_clean(self):
        # A supervisor that exits has already reaped its workers; the short grace only
        # absorbs the kernel removing a cgroup or a mount a moment later.
        deadline = time.monotonic() + 3
        while True:
            leftovers = host_leftovers(self.seen_pids)
            if not leftovers or time.monotonic() > deadline:
                return leftovers
            time.sleep(0.1)

    # -- logs ----------------------------------------------------------------------------

    def _read(self, name, offset=0):
        try:
            with open(os.path.join(self.tmp, name), "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"({name}: {e})"

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, offset=0):
        return self._read("supervisor.log", offset)

    def wait_log(self, pattern, offset=0, timeout_s=10):
        """The first match of the regex pattern in the log past offset, waiting up to
        timeout_s for it; None when it never came."""
        deadline = time.monotonic() + timeout_s
        while True:
            match = re.search(pattern, self.log_text(offset))
            if match or time.monotonic() > deadline:
                return match
            time.sleep(0.05)

    def process_running(self, argv_head):
        """(pid, worker pid) of a live process below the supervisor whose argv starts with
        argv_head (a list of bytes), or (None, None)."""
        for pid in descendants(self.supervisor.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[:len(argv_head)] != argv_head:
                continue
            parent = pid
            while parent and (_proc_stat(parent) or ("",))[0] != "ccx-worker":
                parent = (_proc_stat(parent) or (None, None, 0))[2]
            return pid, parent
        return None, None

    def wait_process(self, argv_head, timeout_s=10):
        """process_running(), waiting up to timeout_s for the process to appear."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.process_running(argv_head)
            if found[0] or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def assert_no_lease_left(self, timeout_s=5):
        """Fails unless ccx:leases and every ccx:lease:* hash are gone within timeout_s:
        once its jobs are answered, a fleet leaves no lease behind."""
        deadline = time.monotonic() + timeout_s
        while self.r.zcard("ccx:leases") and time.monotonic() < deadline:
            time.sleep(0.1)
        leases, hashes = self.r.zrange("ccx:leases", 0, -1), self.r.keys("ccx:lease:*")
        if leases or hashes:
            raise AssertionError(f"leases left: {leases}, lease hashes left: {hashes}")

    def job_uids(self):
        """The host uids this fleet's workers have leased for their jobs, from their logs."""
        return {int(uid) for uid in re.findall(r"event=sandbox_ready host_uid=(\d+)",
                                               self._read("supervisor.log"))}

    def print_log(self, title, offset=0):
        print(f"---- {title} ({self.log_path}) ----\n{self._read('supervisor.log', offset)}"
              f"---- end of {title} ----", file=sys.stderr)

    # -- jobs ----------------------------------------------------------------------------

    def raw_xadd(self, payload):
        """Puts payload (bytes) on ccx:jobs as is; returns the stream entry id."""
        return as_bytes(self.r.xadd(JOBS_STREAM, {"job": payload})).decode()

    def enqueue(self, language, source=None, stdin=b"", limits=None, job_id=None, **fields):
        """Enqueues a job; fields adds or overrides map entries (tenant, meta, files...).
        Returns (job id, stream entry id)."""
        job = {"id": job_id or new_job_id(), "language": language, "stdin": as_bytes(stdin)}
        if source is not None:
            job["source"] = as_bytes(source)
        if limits:
            job["limits"] = dict(limits)
        job.update(fields)
        return job["id"], self.raw_xadd(msgpack.packb(job, use_bin_type=True))

    def submit(self, language, source=None, **job):
        """enqueue(), returning the job id only."""
        return self.enqueue(language, source, **job)[0]

    def wait(self, *ids, timeout_s=RESULT_WAIT_S):
        """The result answered under any of ids (the first to come). Fails the test when
        none comes in time."""
        reply = self.r.blpop(["ccx:reply:" + i for i in ids], timeout=timeout_s)
        if reply:
            return decode(reply[1])
        for i in ids:
            data = self.r.get("ccx:result:" + i)
            if data is not None:
                return decode(data)
        raise AssertionError(f"no result for {', '.join(ids)} within {timeout_s} s")

    def run(self, language, source=None, **job):
        """submit() then wait()."""
        return self.wait(self.submit(language, source, **job))

    def events_for(self, job_id, kind=None, timeout_s=5):
        """The decoded ccx:events entries about job_id. With kind, waits up to timeout_s for
        one of that kind: events are added just after the result is stored."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [decode(fields[b"event"]) for _, fields in self.r.xrange(EVENTS_STREAM)]
            found = [e for e in found if e.get("job_id") == job_id]
            if kind is None or kind in [e.get("kind") for e in found] \
                    or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


class FleetTestCase(unittest.TestCase):
    """Base class: one fleet for the whole class, checked for leftovers at the end."""

    workers = 2
    fleet_env = {}  # added to the supervisor's environment
    fleet_config = {}  # fields over the shipped config (nested objects merged)
    fleet = None

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.fleet = Fleet(cls.workers, cls.fleet_env, cls.fleet_config)
        cls.fleet.start()

    @classmethod
    def tearDownClass(cls):
        fleet, cls.fleet = cls.fleet, None
        if fleet is None:
            return
        leftovers = fleet.stop()
        if leftovers:
            raise AssertionError("left on the host after the fleet stopped:\n  "
                                 + "\n  ".join(leftovers))

    def run(self, result=None):
        # Print the supervisor's log lines of a test that failed: they usually say why.
        result = result if result is not None else self.defaultTestResult()
        fleet = type(self).fleet
        offset = fleet.log_size() if fleet else 0
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if fleet and len(result.failures) + len(result.errors) > before:
            fleet.print_log(f"supervisor log during {self.id()}", offset)
        return result
