"""The chaos run: a three-host ccx fleet on a private network, loaded with 2,000 jobs of known
outcome while workers, a supervisor, redis-server and one host's link are broken on purpose.
It then checks the delivery promise of docs/PROTOCOL.md: every job has exactly one final
result or a dead letter, no result was overwritten or pushed twice, and each status is the
one its kind must end with (or a documented dead letter).

Topology (all made here, all removed at the end, even when the run fails):

    ccxc-<tag>-h1  ccxc-<tag>-h2  ccxc-<tag>-h3  ccxc-<tag>-redis     network namespaces
         eth0           eth0           eth0           eth0              10.250.<n>.0/24 only
           \______________|______________|______________/
                        br0 in ccxc-<tag>-br                          no route anywhere else

Each supervisor runs in its host's network namespace and a UTS namespace of its own (so its
results name the host), and shares the machine's cgroup fs and uid lock dir with the others.
The supervisor is entered with `nsenter --net`, not `ip netns exec`: the latter mounts a
fresh /sys, which would hide the cgroup fs from the workers. The driver reaches redis-server
through a unix socket in the temp dir, so nothing in the root namespace is ever targeted.

Run as root:  /usr/bin/python3 tests/chaos/chaos.py   (CCX_CHAOS_JOBS=N for a shorter run)
The counts are the last lines printed; the exit status is 0 only when every check held."""

import atexit
import collections
import glob
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import msgpack
import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from fleet import (SOURCE_DIR, _merge, _proc_stat, binary, decode, descendants,  # noqa: E402
                   fleet_policy, is_intake)

SEED = int(os.environ.get("CCX_CHAOS_SEED", "20240611"))
JOBS = int(os.environ.get("CCX_CHAOS_JOBS", "2000"))
HOSTS = ("h1", "h2", "h3")
WORKERS = 2
LEASE_MS = 3000
SUBMIT_S = 45             # the load is added over this long, faster than the fleet runs it
DEADLINE_S = 480          # from the start: every job must be final by then
LINK_CUT_S = 20
POLL_S = 0.25

# The faults, in seconds from the start of the load. The two host faults wait (up to
# ARM_MAX_S) for their victim to hold a lease, so that they take running jobs with them.
WORKER_KILLS_AT = (4, 9, 15, 26, 34, 44, 52)
SUPERVISOR_KILL_AT, SUPERVISOR_DOWN_S, SUPERVISOR_VICTIM = 12, 10, "h3"
REDIS_RESTART_AT = 24
LINK_CUT_AT, LINK_VICTIM = 32, "h2"
ARM_MAX_S = 6

tag = uuid.uuid4().hex[:6]
subnet = random.SystemRandom().randrange(1, 255)
tmp = tempfile.mkdtemp(prefix=f"ccx-chaos-{tag}-")
tools_dirs = {h: f"/var/tmp/ccx-chaos-{tag}-{h}" for h in HOSTS}  # outside the sandbox's /tmp
netns = {name: f"ccxc-{tag}-{name}" for name in HOSTS + ("redis", "br")}
hostnames = {h: f"ccxc-{tag}-{h}" for h in HOSTS}
cgroup_parents = {h: f"ccx-chaos-{tag}-{h}" for h in HOSTS}
run_dirs = {h: f"/run/ccx-chaos-{tag}-{h}" for h in HOSTS}
address = {"redis": f"10.250.{subnet}.1", "h1": f"10.250.{subnet}.11",
           "h2": f"10.250.{subnet}.12", "h3": f"10.250.{subnet}.13"}
socket_path = os.path.join(tmp, "redis.sock")
redis_dir = os.path.join(tmp, "redis")

procs = {}          # "redis" or a host -> Popen
seen_pids = set()   # every ccx process seen, for the leftover check
created_netns = []


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def sh(*argv, check=True):
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stdout.strip()}")
    return done.stdout


# -- topology --------------------------------------------------------------------------------

def make_network():
    for ns in netns.values():
        sh("ip", "netns", "add", ns)
        created_netns.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    br = netns["br"]
    sh("ip", "-n", br, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", br, "link", "set", "br0", "up")
    for name in HOSTS + ("redis",):
        # The bridge end stays in the bridge namespace; the other end becomes eth0 inside.
        sh("ip", "-n", br, "link", "add", f"vb-{name}", "type", "veth",
           "peer", "name", "eth0", "netns", netns[name])
        sh("ip", "-n", br, "link", "set", f"vb-{name}", "master", "br0", "up")
        sh("ip", "-n", netns[name], "addr", "add", f"{address[name]}/24", "dev", "eth0")
        sh("ip", "-n", netns[name], "link", "set", "eth0", "up")


def in_netns(name, argv):
    return ["nsenter", f"--net=/run/netns/{netns[name]}", "--"] + argv


def set_link(host, up):
    sh("ip", "-n", netns[host], "link", "set", "eth0", "up" if up else "down")


# -- redis and supervisors -------------------------------------------------------------------

def start_redis():
    os.makedirs(redis_dir, exist_ok=True)
    with open(os.path.join(tmp, "redis.log"), "ab") as out:
        procs["redis"] = subprocess.Popen(in_netns("redis", [
            "redis-server", "--bind", address["redis"], "--port", "6379",
            "--protected-mode", "no", "--unixsocket", socket_path, "--unixsocketperm", "700",
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--dir", redis_dir, "--daemonize", "no"]),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            r = redis.Redis(unix_socket_path=socket_path, socket_timeout=10)
            r.ping()
            return r
        except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
            if procs["redis"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not come up")
            time.sleep(0.05)


def stop_redis():
    p = procs.get("redis")
    if p is None or p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def write_configs():
    with open(os.path.join(SOURCE_DIR, "deploy", "ccx.json")) as f:
        shipped = json.load(f)
    paths = {}
    for h in HOSTS:
        config = json.loads(json.dumps(shipped))
        os.makedirs(tools_dirs[h])
        if h == "h1":
            # Only h1 has the flaky language's interpreter: a flaky job ends internal_error
            # on h2 and h3 (a language this host lacks) and is retried until it lands on h1.
            os.symlink("/usr/bin/bash", os.path.join(tools_dirs[h], "sh"))
        _merge(config, {
            "lease_ms": LEASE_MS,
            "shutdown_grace_s": 5,
            "policy": fleet_policy(os.path.join(tmp, f"policy-{h}.json")),
            "sandbox": {
                "cgroup_parent": cgroup_parents[h],
                "run_dir": run_dirs[h],
                "seccomp_profile": os.path.join(SOURCE_DIR, "deploy", "seccomp.json"),
                "ro_binds": shipped["sandbox"]["ro_binds"] + [tools_dirs[h]],
            },
            "languages": {
                "flaky": {"source_name": "main.sh",
                          "run": [os.path.join(tools_dirs[h], "sh"), "{main}"]},
                "broken": {"source_name": "main.sh",
                           "run": [os.path.join(tools_dirs[h], "missing"), "{main}"]},
            },
        })
        paths[h] = os.path.join(tmp, f"ccx-{h}.json")
        with open(paths[h], "w") as f:
            json.dump(config, f, indent=2)
    return paths


def log_path(h):
    return os.path.join(tmp, f"supervisor-{h}.log")


def start_supervisor(h, config_path):
    # unshare --uts then hostname: the worker names its host with gethostname().
    argv = in_netns(h, ["unshare", "--uts", "--", "/bin/sh", "-c", 'hostname "$0" && exec "$@"',
                        hostnames[h], binary("ccx-supervisor"),
                        "--redis", f"redis://{address['redis']}:6379",
                        "--workers", str(WORKERS), "--config", config_path])
    with open(os.path.join(tmp, f"supervisor-{h}.log"), "ab") as out:
        procs[h] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)


def workers_of(h):
    p = procs.get(h)
    if p is None or p.poll() is not None:
        return []
    found = []
    for pid in descendants(p.pid):
        stat = _proc_stat(pid)
        if stat and stat[0] == "ccx-worker" and stat[2] == p.pid and stat[1] != "Z" \
                and not is_intake(pid):
            found.append(pid)
    return sorted(found)


def remember_pids():
    for h in HOSTS:
        p = procs.get(h)
        if p is not None and p.poll() is None:
            seen_pids.add(p.pid)
            seen_pids.update(descendants(p.pid))


def wait_workers(hosts, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while any(len(workers_of(h)) < WORKERS for h in hosts):
        for h in hosts:
            if procs[h].poll() is not None:
                raise RuntimeError(f"ccx-supervisor of {h} exited ({procs[h].returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.1)


def stop_supervisor(h):
    p = procs.get(h)
    if p is None or p.poll() is not None:
        return []
    remember_pids()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return [f"ccx-supervisor of {h} ignored SIGTERM for 30 s"]
    return [] if p.returncode == 0 else [f"ccx-supervisor of {h} exited {p.returncode}"]


# -- the load --------------------------------------------------------------------------------

KINDS = (  # kind, share, language, source, limits
    ("quick_py", 0.55, "python", "import os\nprint('hello', os.urandom(8).hex())\n", None),
    ("quick_sh", 0.245, "sh", "echo hello $RANDOM$RANDOM$RANDOM\n", None),
    ("slow", 0.04, "sh", None, None),
    ("failing", 0.07, "sh", "echo failing $RANDOM >&2\nexit 3\n", None),
    ("timeout", 0.05, "sh", "while :; do :; done\n", {"wall_ms": 400}),
    ("memory", 0.03, "python", "x = b'a' * (400 << 20)\nprint(len(x))\n", {"memory_mb": 48}),
    ("flaky", 0.01, "flaky", "echo flaky $RANDOM\n", None),
    ("broken", 0.005, "broken", "echo never\n", None),
)
EXPECTED = {"quick_py": {"ok"}, "quick_sh": {"ok"}, "slow": {"ok"}, "failing": {"error_exit"},
            "timeout": {"timeout"}, "memory": {"memory_limit"}, "flaky": {"ok", "dead_letter"},
            "broken": {"dead_letter"}}


def make_load(rng):
    jobs = []
    for i in range(JOBS):
        pick, acc = rng.random(), 0.0
        for kind, share, language, source, limits in KINDS:
            acc += share
            if pick < acc:
                break
        else:
            kind, _, language, source, limits = KINDS[0]
        if kind == "slow":
            source = f"sleep {rng.randint(1, 3)}\necho slow $RANDOM\n"
        job = {"id": f"chaos-{tag}-{i:05d}-{kind}", "language": language,
               "source": source.encode(), "tenant": "chaos", "meta": {"kind": kind}}
        if limits:
            job["limits"] = limits
        jobs.append((job["id"], kind, msgpack.packb(job, use_bin_type=True)))
    rng.shuffle(jobs)
    return jobs


# -- the run ---------------------------------------------------------------------------------

class Run:
    def __init__(self, rng, configs):
        self.rng = rng
        self.configs = configs
        self.r = None
        self.jobs = make_load(rng)
        self.kind = {job_id: kind for job_id, kind, _ in self.jobs}
        self.submitted = []
        self.first = {}               # job id -> the first reply popped (bytes)
        self.extra_pushes = collections.Counter()   # replies popped after the first
        self.overwritten = set()      # ids whose stored result changed after the first reply
        # fault -> {"host", "at", "leases": {entry id: job id}, "waits": {entry id: s}}:
        # the leases the victim held when it failed, and how long until another host had each.
        self.watches = {}
        self.armed_since = {}
        self.after_fault = {}
        self.back = {}   # host -> (log offset, backlog) when it came back from its fault
        self.notes = []
        self.result_count_before_restart = 0

    def call(self, fn):
        """fn(redis client), again and again while Redis is out of reach."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return fn(self.r)
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def submit_due(self, now):
        due = min(len(self.jobs), int(len(self.jobs) * min(1.0, now / SUBMIT_S)) + 1)
        batch = self.jobs[len(self.submitted):due]
        if not batch:
            return

        def xadd(r):
            pipe = r.pipeline(transaction=False)
            for _, _, payload in batch:
                pipe.xadd("ccx:jobs", {"job": payload})
            pipe.execute()
        # Redis is only restarted between two ticks, so a batch is never half added.
        self.call(xadd)
        self.submitted += [job_id for job_id, _, _ in batch]

    def poll(self, check_stored=False):
        ids = self.submitted

        def pops(r):
            pipe = r.pipeline(transaction=False)
            for job_id in ids:
                pipe.lpop("ccx:reply:" + job_id)
            return pipe.execute()
        for job_id, reply in zip(ids, self.call(pops)):
            if reply is None:
                continue
            if job_id in self.first:
                self.extra_pushes[job_id] += 1
            else:
                self.first[job_id] = reply
        if check_stored:
            self.check_stored()

    def check_stored(self):
        ids = list(self.first)
        stored = self.call(lambda r: r.mget(["ccx:result:" + i for i in ids])) if ids else []
        for job_id, value in zip(ids, stored):
            if value is not None and value != self.first[job_id]:
                self.overwritten.add(job_id)
        return dict(zip(ids, stored))

    def leases_of(self, h, consumers=False):
        """{entry id: job id (or with consumers, host:pid)} of the leases host h holds and
        runs now."""
        field = b"consumer" if consumers else b"job_id"

        def read(r):
            held = {}
            for entry in r.zrange("ccx:leases", 0, -1):
                lease = r.hgetall(b"ccx:lease:" + entry)
                if lease.get(b"host", b"").decode() == hostnames[h] \
                        and lease.get(b"state") == b"running":
                    held[entry.decode()] = lease.get(field, b"").decode()
            return held
        return self.call(read)

    def watch_victims(self, now):
        for watch in self.watches.values():
            pending = [e for e in watch["leases"] if e not in watch["waits"]]
            if not pending:
                continue

            def read(r):
                pipe = r.pipeline(transaction=False)
                for entry in pending:
                    pipe.hget(f"ccx:lease:{entry}", "host")
                    pipe.get("ccx:result:" + watch["leases"][entry])
                return pipe.execute()
            values = self.call(read)
            for i, entry in enumerate(pending):
                host, stored = values[2 * i], values[2 * i + 1]
                # Taken over: another host holds the lease, or stored the result.
                by = host.decode() if host is not None else None
                if stored is not None:
                    by = decode(stored)["host"]
                if by is not None and by != hostnames[watch["host"]]:
                    watch["waits"][entry] = now - watch["at"]

    def armed(self, action, h, now):
        """True once host h holds a running lease, or ARM_MAX_S after the fault was due."""
        since = self.armed_since.setdefault(action, now)
        return bool(self.leases_of(h)) or now - since > ARM_MAX_S

    # -- faults ----------------------------------------------------------------------------

    def kill_worker(self):
        live = [h for h in HOSTS if workers_of(h)]
        if not live:
            log("no live worker to kill")
            return
        # A worker that runs a job, when one does: its lease is handed back and run again.
        busy = {}
        for h in live:
            for entry, lease in self.leases_of(h, consumers=True).items():
                busy[int(lease.rsplit(":", 1)[1])] = h
        busy = {pid: h for pid, h in busy.items() if pid in workers_of(h)}
        if busy:
            pid = self.rng.choice(sorted(busy))
            h = busy[pid]
        else:
            h = self.rng.choice(live)
            pid = self.rng.choice(workers_of(h))
        remember_pids()
        os.kill(pid, signal.SIGKILL)
        log(f"SIGKILL worker {pid} of {h} ({'running a job' if busy else 'idle'})")

    def kill_supervisor(self, now):
        h = SUPERVISOR_VICTIM
        remember_pids()
        held = self.leases_of(h)
        procs[h].kill()
        procs[h].wait(10)
        self.watches["supervisor killed"] = {"host": h, "at": now, "leases": held, "waits": {}}
        log(f"SIGKILL supervisor of {h}: it held {len(held)} leases")

    def cut_link(self, now):
        h = LINK_VICTIM
        held = self.leases_of(h)
        set_link(h, False)
        self.watches["link cut"] = {"host": h, "at": now, "leases": held, "waits": {}}
        log(f"link of {h} down for {LINK_CUT_S} s: it held {len(held)} leases")

    def restart_redis(self):
        self.result_count_before_restart = len(self.check_stored_keys())
        log(f"SIGTERM redis-server ({self.result_count_before_restart} results stored)")
        stop_redis()
        self.r = start_redis()
        after = len(self.check_stored_keys())
        log(f"redis-server back: {after} results stored")
        if after < self.result_count_before_restart:
            self.notes.append(f"redis restart lost results: {self.result_count_before_restart}"
                              f" before, {after} after")

    def check_stored_keys(self):
        return self.call(lambda r: [k for k in r.scan_iter("ccx:result:*", count=1000)])

    # -- the whole run ---------------------------------------------------------------------

    def go(self):
        make_network()
        self.r = start_redis()
        for h in HOSTS:
            start_supervisor(h, self.configs[h])
        wait_workers(HOSTS)
        self.wait_group()
        log(f"fleet up: 3 hosts x {WORKERS} workers, subnet 10.250.{subnet}.0/24, tag {tag}")

        timeline = [(t, "kill_worker") for t in WORKER_KILLS_AT] + [
            (SUPERVISOR_KILL_AT, "kill_supervisor"), (REDIS_RESTART_AT, "restart_redis"),
            (LINK_CUT_AT, "cut_link")]
        timeline.sort()
        self.t0 = time.monotonic()
        last_check = 0.0
        while True:
            now = time.monotonic() - self.t0
            while timeline and timeline[0][0] <= now:
                _, action = timeline.pop(0)
                for then in self.fault(action, now):
                    timeline.append(then)
                timeline.sort()
            self.submit_due(now)
            remember_pids()
            check = now - last_check > 2
            self.poll(check_stored=check)
            if check:
                last_check = now
            self.watch_victims(now)
            if not timeline and len(self.submitted) == len(self.jobs) \
                    and self.all_final():
                break
            if now > DEADLINE_S:
                self.notes.append(f"deadline: not every job was final after {DEADLINE_S} s")
                break
            time.sleep(POLL_S)
        self.elapsed = time.monotonic() - self.t0
        log(f"load done in {self.elapsed:.0f} s")
        # A second push or an overwrite would come just after; give them a moment to show.
        time.sleep(3)
        self.poll(check_stored=True)

    def wait_group(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if any(g["name"] == b"ccx-workers" for g in self.r.xinfo_groups("ccx:jobs")):
                    return
            except redis.ResponseError:
                pass
            time.sleep(0.1)
        raise RuntimeError("no consumer group ccx-workers after 30 s")

    def fault(self, action, now):
        """Does action; returns the (time, action) it schedules next."""
        if action == "kill_worker":
            self.kill_worker()
        elif action == "kill_supervisor":
            if not self.armed(action, SUPERVISOR_VICTIM, now):
                return [(now + POLL_S, action)]
            self.kill_supervisor(now)
            return [(now + SUPERVISOR_DOWN_S, "restart_supervisor")]
        elif action == "restart_supervisor":
            self.mark_back(SUPERVISOR_VICTIM)
            start_supervisor(SUPERVISOR_VICTIM, self.configs[SUPERVISOR_VICTIM])
            log(f"supervisor of {SUPERVISOR_VICTIM} started again")
        elif action == "restart_redis":
            self.restart_redis()
        elif action == "cut_link":
            if not self.armed(action, LINK_VICTIM, now):
                return [(now + POLL_S, action)]
            self.cut_link(now)
            return [(now + LINK_CUT_S, "restore_link")]
        elif action == "restore_link":
            self.mark_back(LINK_VICTIM)
            set_link(LINK_VICTIM, True)
            log(f"link of {LINK_VICTIM} up")
        return []

    def mark_back(self, h):
        backlog = self.call(lambda r: r.xlen("ccx:jobs"))
        self.back[h] = (os.path.getsize(log_path(h)), backlog)

    def all_final(self):
        if len(self.first) < len(self.jobs):
            return False
        return True

    # -- the checks ------------------------------------------------------------------------

    def verify(self):
        failures = list(self.notes)
        stored = self.check_stored()
        dead = self.call(lambda r: r.xrange("ccx:dead"))
        dead_ids = collections.Counter(f[b"job_id"].decode() for _, f in dead)
        stats = {k.decode(): int(v) for k, v in self.call(lambda r: r.hgetall("ccx:stats")).items()}
        results = {}
        for job_id, kind, _ in self.jobs:
            value = stored.get(job_id)
            if value is None:
                failures.append(f"{job_id}: no result stored")
                continue
            result = decode(value)
            results[job_id] = result
            status = result["status"]
            documented_dead = status == "dead_letter" and dead_ids[job_id] == 1 and (
                result["reason"].startswith("quarantined as a poison job")
                or result["reason"].startswith("gave up after"))
            if status not in EXPECTED[kind] and not documented_dead:
                failures.append(f"{job_id}: {kind} ended {status} (attempt {result['attempt']},"
                                f" reason {result.get('reason')!r})")
            if status == "dead_letter" and dead_ids[job_id] != 1:
                failures.append(f"{job_id}: dead_letter result, "
                                f"{dead_ids[job_id]} ccx:dead entries")
            if kind == "failing" and status == "error_exit" and result["exit_code"] != 3:
                failures.append(f"{job_id}: exit_code {result['exit_code']}")
        for job_id, n in dead_ids.items():
            if n > 1 or job_id not in self.kind:
                failures.append(f"ccx:dead holds {job_id} {n} times")
            elif results.get(job_id, {}).get("status") != "dead_letter":
                failures.append(f"ccx:dead holds {job_id}, but its result is not dead_letter")
        for job_id in self.extra_pushes:
            failures.append(f"{job_id}: {self.extra_pushes[job_id] + 1} replies pushed")
        for job_id in self.overwritten:
            failures.append(f"{job_id}: the stored result is not the first reply")
        # From the supervisors' logs: runs that went to the end, and whether the hosts that
        # failed took jobs again once they were back (a stuck host would not).
        finished = collections.Counter()
        for h in HOSTS:
            with open(log_path(h), errors="replace") as f:
                text = f.read()
            # internal_error runs are retries by design; count the runs that had an answer.
            finished.update(j for j, status in re.findall(
                r"job_id=(\S+) tenant=\S+ event=job_finished status=(\S+)", text)
                if status != "internal_error")
            if h in self.back:
                offset, backlog = self.back[h]
                started = len(re.findall(r"event=job_started ", text[offset:]))
                self.after_fault[h] = (started, backlog)
                if started == 0 and backlog >= 6 * WORKERS:
                    failures.append(f"{h} ran no job after it came back, with {backlog} queued")
        backlog = self.call(lambda r: (r.xlen("ccx:jobs"), r.zcard("ccx:leases")))
        if backlog != (0, 0):
            failures.append(f"ccx:jobs holds {backlog[0]} entries, ccx:leases {backlog[1]}")
        self.counts = {
            "jobs": len(self.jobs),
            "results": len(results),
            "statuses": dict(collections.Counter(r["status"] for r in results.values())),
            "retries": stats.get("retries", 0),
            "reclaims": stats.get("reclaims", 0),
            "leases_expired": stats.get("leases_expired", 0),
            "attempts>1": sum(1 for r in results.values() if r["attempt"] > 1),
            "duplicated executions visible to clients":
                len(set(self.extra_pushes) | self.overwritten),
            "dead letters": sum(dead_ids.values()),
            "poison": stats.get("poison_quarantines", 0),
            "runs answered (logs)": sum(finished.values()),
            "jobs answered by more than one run (logs)":
                sum(1 for n in finished.values() if n > 1),
            "dead letters by kind and reason": dict(collections.Counter(
                f"{self.kind[i]}: {r['reason'].split(';')[0].split(':')[0]}"
                for i, r in results.items() if r["status"] == "dead_letter")),
        }
        return failures


# -- clean-up --------------------------------------------------------------------------------

def netns_inodes():
    found = set()
    for ns in created_netns:
        try:
            found.add(os.stat(f"/run/netns/{ns}").st_ino)
        except OSError:
            pass
    return found


def leftovers():
    found = []
    inodes = netns_inodes()
    ours = tuple(cgroup_parents.values())
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        stat = _proc_stat(pid)
        if not stat or stat[1] == "Z":
            continue
        try:
            in_ours = os.stat(f"/proc/{pid}/ns/net").st_ino in inodes
            with open(f"/proc/{pid}/cgroup") as f:
                cgroups = f.read()
            in_ours = in_ours or any(name in cgroups for name in ours)
        except OSError:
            continue
        if in_ours or (pid in seen_pids and stat[0] in ("ccx-worker", "ccx-supervisor")):
            found.append(f"process {stat[0]} pid {pid}")
    for parent in ours:
        for path in [f"/sys/fs/cgroup/{parent}"] + glob.glob(f"/sys/fs/cgroup/*/{parent}"):
            if os.path.isdir(path):
                found.append(f"cgroup {path}")
    with open("/proc/mounts") as f:
        for line in f:
            point = line.split()[1]
            if any(point == d or point.startswith(d + "/") for d in run_dirs.values()):
                found.append(f"mount {point}")
    return found


cleaned = []


def cleanup():
    """Stops everything this run started and removes what it made; returns the leftovers
    found once it had stopped (before removing the namespaces). Safe to call twice."""
    if cleaned:
        return cleaned[0]
    notes = []
    for h in HOSTS:
        try:
            set_link(h, True)
        except Exception:
            pass
    for h in HOSTS:
        notes += stop_supervisor(h)
    stop_redis()
    deadline = time.monotonic() + 5
    found = leftovers()
    while found and time.monotonic() < deadline:
        time.sleep(0.2)
        found = leftovers()
    for pid in seen_pids:      # only our own, by pid, and only if still a ccx process
        stat = _proc_stat(pid)
        if stat and stat[0] in ("ccx-worker", "ccx-supervisor") and stat[1] != "Z":
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for ns in created_netns:
        sh("ip", "netns", "del", ns, check=False)
        if os.path.exists(f"/run/netns/{ns}"):
            found.append(f"network namespace {ns}")
    for d in [tmp] + list(tools_dirs.values()):
        shutil.rmtree(d, ignore_errors=True)
        if os.path.exists(d):
            found.append(f"directory {d}")
    cleaned.append(notes + found)
    return cleaned[0]


def main():
    if os.geteuid() != 0:
        print("chaos: needs root (namespaces, cgroups); skipped")
        os.rmdir(tmp)
        return 77
    atexit.register(cleanup)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(1))
    started = time.monotonic()
    rng = random.Random(SEED)
    run = Run(rng, write_configs())
    failures = []
    try:
        run.go()
        failures += run.verify()
    except Exception as e:
        traceback.print_exc()
        failures.append(f"the run broke: {e!r}")
    except BaseException as e:
        failures.append(f"interrupted: {e!r}")
        raise
    finally:
        logs = {h: open(os.path.join(tmp, f"supervisor-{h}.log"), errors="replace").read()
                for h in HOSTS if os.path.exists(os.path.join(tmp, f"supervisor-{h}.log"))}
        left = cleanup()
        failures += [f"left on the machine: {x}" for x in left]
        if failures or os.environ.get("CCX_CHAOS_KEEP_LOGS"):
            keep = os.path.join(tempfile.gettempdir(), f"ccx-chaos-{tag}-logs")
            os.makedirs(keep, exist_ok=True)
            for h, text in logs.items():
                with open(os.path.join(keep, f"supervisor-{h}.log"), "w") as f:
                    f.write(text)
            print(f"{'FAILED' if failures else 'passed'} ({len(failures)} failures), "
                  f"supervisor logs kept in {keep}")
            for line in failures[:60]:
                print("  " + line)
        report = []
        c = getattr(run, "counts", {})
        report.append(f"chaos: seed {SEED}, {time.monotonic() - started:.0f} s in all, "
                      f"load {getattr(run, 'elapsed', 0):.0f} s")
        for key in ("jobs", "results", "statuses", "retries", "reclaims", "leases_expired",
                    "attempts>1", "duplicated executions visible to clients", "dead letters",
                    "poison", "runs answered (logs)", "jobs answered by more than one run (logs)",
                    "dead letters by kind and reason"):
            report.append(f"{key}: {c.get(key, '?')}")
        for name, watch in run.watches.items():
            waits = sorted(watch["waits"].values())
            line = (f"{name} ({watch['host']}): held {len(watch['leases'])} leases, "
                    f"{len(waits)} taken over by another host")
            if waits:
                line += (f", waited min {waits[0]:.1f} s, median {statistics.median(waits):.1f}"
                         f" s, max {waits[-1]:.1f} s (lease_ms {LEASE_MS})")
            report.append(line)
        for h, (started, backlog) in run.after_fault.items():
            report.append(f"{h} after it came back: {started} jobs started "
                          f"({backlog} were queued)")
        print("\n".join(report))
        # ctest keeps a passing run's output to itself: scripts/test shows this file.
        build_dir = os.environ.get("CCX_BUILD_DIR")
        if build_dir and os.path.isdir(build_dir):
            with open(os.path.join(build_dir, "chaos-summary.txt"), "w") as f:
                f.write("\n".join(report) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
