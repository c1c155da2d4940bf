"""The penetration suite: every program under attacks/ runs through a real fleet, and the
suite checks that what it tried was contained and that the sandbox said so.

An attack program declares, in comment lines near its top (`#` or `//`):

    ccx-attack: what it tries, in one sentence
    ccx-category: filesystem | process | network | privilege | resources | leak |
                  terminal | runc
    ccx-status: the status the job must end with (alternatives joined by |)
    ccx-event: KIND REGEX   an event the result and ccx:events must both carry, with a
                            detail that REGEX matches (re.search); repeatable
    ccx-no-event: KIND      an event kind that must not appear; repeatable
    ccx-steps: N            when the program runs to its end: it prints exactly N lines
                            "BLOCKED: ..." (one per step it tried), so a step that was
                            skipped or crashed is seen
    ccx-limits: k=v ...     job limits (wall_ms=3000 pids=16 ...)
    ccx-cpus: N             the job may have used at most N CPUs on average (its cpu_ms
                            over its wall_ms, with CPU_SLACK for the quota's granularity)
    ccx-args: A ...         program arguments; {tcp_port}, {udp_port}, {unix_path},
                            {abstract_name} and {sentinel_pid} name the host's bait

A program prints "ESCAPED: ..." when a step got through; any such line fails it. Whatever a
program claims, the suite also checks the host after every attack: the bait (a TCP and a
UDP listener on 127.0.0.1, a unix socket at a path and an abstract one, a sentinel process)
saw nothing, no process of the fleet's job uids outlived its job, no file named
ccx-escape* appeared in the host's /, /tmp or /root, the binaries a job could reach
(ccx-init, python3, node, bash, gcc, the loader and libc) are unchanged, and the output
carries none of the host's secrets (a canary in the supervisor's environment, the host
name, the fleet's paths).

The suite prints the number contained per category at the end.
"""

import glob
import hashlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from fleet import BIN_DIR, BUILD_DIR, SOURCE_DIR, FleetTestCase, as_bytes, new_job_id  # noqa: E402

ATTACKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attacks")
LANGUAGES = {".py": "python", ".js": "node", ".c": "c", ".sh": "sh"}
CATEGORIES = ("filesystem", "process", "network", "privilege", "resources", "leak",
              "terminal", "runc")
STATUSES = ("ok", "error_exit", "signaled", "timeout", "cpu_limit", "memory_limit",
            "pids_limit", "output_limit", "policy_violation")
HEADER_LINES = 40
CANARY = "ccx-canary-" + os.urandom(8).hex()
ESCAPE_MARKER = "ccx-escape"
ESCAPE_DIRS = ("/", "/tmp", "/root")
REACHABLE_BINARIES = ("ccx-init", "/usr/bin/python3", "/usr/bin/node", "/usr/bin/bash",
                      "/usr/bin/gcc", "/lib64/ld-linux-x86-64.so.2",
                      "/usr/lib/x86_64-linux-gnu/libc.so.6")
LINGER_S = 3  # how long the job's processes may take to go after its result is stored
CPU_SLACK = 1.25  # a CFS quota lets a burst over its share through within one period


class Attack:
    """One program of attacks/ and what it declares."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.language = LANGUAGES[os.path.splitext(path)[1]]
        with open(path, "rb") as f:
            self.source = f.read()
        self.what = None
        self.category = None
        self.statuses = None
        self.events = []
        self.absent_events = []
        self.steps = None
        self.limits = {}
        self.args = []
        self.cpus = None
        self._parse_header()

    def _fail(self, why):
        raise ValueError(f"{self.path}: {why}")

    def _parse_header(self):
        for line in self.source.decode().splitlines()[:HEADER_LINES]:
            match = re.match(r"\s*(?:#|//)\s*ccx-([a-z-]+):\s*(.*?)\s*$", line)
            if match:
                self._apply(match.group(1), match.group(2))
        if not self.what or self.category not in CATEGORIES or not self.statuses:
            self._fail("needs ccx-attack, ccx-category (one of "
                       f"{', '.join(CATEGORIES)}) and ccx-status")
        if ("ok" in self.statuses or "error_exit" in self.statuses) and self.steps is None:
            self._fail("a program that may run to its end declares ccx-steps")

    def _apply(self, key, value):
        if key == "attack":
            self.what = value
        elif key == "category":
            self.category = value
        elif key == "status":
            self.statuses = value.split("|")
            unknown = set(self.statuses) - set(STATUSES)
            if unknown:
                self._fail(f"unknown status {sorted(unknown)}")
        elif key == "event":
            kind, _, pattern = value.partition(" ")
            self.events.append((kind, re.compile(pattern.strip() or ".")))
        elif key == "no-event":
            self.absent_events.append(value)
        elif key == "steps":
            self.steps = int(value)
        elif key == "limits":
            for pair in value.split():
                limit, _, number = pair.partition("=")
                self.limits[limit] = int(number)
        elif key == "cpus":
            self.cpus = float(value)
        elif key == "args":
            self.args = shlex.split(value)
        else:
            self._fail(f"unknown header ccx-{key}")


def load_attacks():
    paths = sorted(glob.glob(os.path.join(ATTACKS_DIR, "*", "*")))
    attacks = [Attack(p) for p in paths if os.path.splitext(p)[1] in LANGUAGES]
    for attack in attacks:
        folder = os.path.basename(os.path.dirname(attack.path))
        if folder != attack.category:
            raise ValueError(f"{attack.path}: ccx-category {attack.category} but folder {folder}")
    return attacks


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def escape_files():
    found = []
    for folder in ESCAPE_DIRS:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [os.path.join(folder, n) for n in names if n.startswith(ESCAPE_MARKER)]
    return sorted(found)


def processes_of_uids(uids):
    """'pid (comm) uid U' for every live process whose real uid is one of uids."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            continue
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        state = re.search(r"^State:\s+(\S)", status, re.M).group(1)
        name = re.search(r"^Name:\s+(.*)$", status, re.M).group(1)
        if uid in uids and state != "Z":
            found.append(f"pid {pid} ({name}) uid {uid}")
    return found


class Bait:
    """What the host offers an escaped job: listeners on loopback and on unix sockets, and
    a sentinel process. Nothing may ever reach or kill them."""

    def __init__(self, tmp):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = os.path.join(tmp, "bait.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)
        self.unix.listen(16)
        self.abstract_name = "ccx-bait-" + os.urandom(4).hex()
        self.abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen(16)
        for sock in (self.tcp, self.udp, self.unix, self.abstract):
            sock.setblocking(False)
        self.sentinel = subprocess.Popen(["sleep", "100000"])

    def values(self):
        return {"tcp_port": self.tcp.getsockname()[1], "udp_port": self.udp.getsockname()[1],
                "unix_path": self.unix_path, "abstract_name": self.abstract_name,
                "sentinel_pid": self.sentinel.pid}

    def touched(self):
        """What reached the bait since the last call: a list of sentences."""
        found = []
        for name, sock in (("tcp", self.tcp), ("unix", self.unix), ("abstract", self.abstract)):
            try:
                conn, peer = sock.accept()
                conn.close()
                found.append(f"a connection reached the {name} listener from {peer!r}")
            except BlockingIOError:
                pass
        try:
            data, peer = self.udp.recvfrom(65536)
            found.append(f"a datagram reached the udp listener from {peer!r}: {data[:40]!r}")
        except BlockingIOError:
            pass
        if self.sentinel.poll() is not None:
            found.append(f"the sentinel process died ({self.sentinel.returncode})")
        return found

    def close(self):
        for sock in (self.tcp, self.udp, self.unix, self.abstract):
            sock.close()
        self.sentinel.kill()
        self.sentinel.wait()


class AttackTest(FleetTestCase):
    """One test per attack program; built by add_attack_tests below."""

    workers = 2
    fleet_env = {"CCX_CANARY": CANARY}
    outcomes = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bait = Bait(cls.fleet.tmp)
        cls.digests = {path: file_digest(path) for path in cls.reachable_binaries()}
        cls.escapes_before = escape_files()

    @classmethod
    def tearDownClass(cls):
        cls.bait.close()
        super().tearDownClass()

    @staticmethod
    def reachable_binaries():
        paths = [os.path.join(BIN_DIR, p) if "/" not in p else p for p in REACHABLE_BINARIES]
        return [os.path.realpath(p) for p in paths if os.path.exists(p)]

    @classmethod
    def print_summary(cls):
        lines = ["", "penetration suite: contained per category"]
        total = contained = 0
        for category in CATEGORIES:
            results = [ok for (cat, _), ok in AttackTest.outcomes.items() if cat == category]
            if results:
                lines.append(f"  {category:<11} {sum(results)}/{len(results)} contained")
            total += len(results)
            contained += sum(results)
        lines.append(f"  {'all':<11} {contained}/{total} contained")
        text = "\n".join(lines) + "\n"
        print(text, file=sys.stderr)
        # ctest keeps a passing suite's output to itself: scripts/test shows this file.
        if os.path.isdir(BUILD_DIR):
            with open(os.path.join(BUILD_DIR, "security-summary.txt"), "w") as f:
                f.write(text)

    # -- the checks ------------------------------------------------------------------------

    def secrets(self):
        """Strings of the host that no job's output may carry."""
        found = [CANARY.encode(), self.fleet.tmp.encode(), SOURCE_DIR.encode(),
                 os.path.realpath(BIN_DIR).encode()]
        return found

    def check_output(self, attack, result, output):
        escaped = [line for line in output.splitlines() if line.startswith(b"ESCAPED")]
        self.assertEqual(escaped, [], f"{attack.name} says it got through")
        for secret in self.secrets():
            self.assertNotIn(secret, output, f"{attack.name} saw the host's {secret!r}")
        host_name = socket.gethostname().encode()
        self.assertIsNone(re.search(rb"(?<![\w-])" + re.escape(host_name) + rb"(?![\w-])",
                                    output), f"{attack.name} saw the host name {host_name!r}")
        if result["status"] in ("ok", "error_exit"):
            blocked = [line for line in output.splitlines() if line.startswith(b"BLOCKED")]
            self.assertEqual(len(blocked), attack.steps,
                             f"{attack.name}: {attack.steps} steps declared, these were "
                             f"reported blocked: {blocked}")

    def check_events(self, attack, result, job_id):
        in_result = [(e["kind"], e["detail"]) for e in result["events"]]
        for kind, pattern in attack.events:
            self.assertTrue(any(k == kind and pattern.search(d) for k, d in in_result),
                            f"{attack.name}: no {kind} event matching {pattern.pattern!r} "
                            f"in the result's {in_result}")
            # Life-cycle events (job_queued, job_started, job_finished) carry no detail.
            published = [(e["kind"], e.get("detail", ""))
                         for e in self.fleet.events_for(job_id, kind=kind)]
            self.assertTrue(any(k == kind and pattern.search(d) for k, d in published),
                            f"{attack.name}: no {kind} event matching {pattern.pattern!r} "
                            f"on ccx:events: {published}")
        for kind in attack.absent_events:
            self.assertNotIn(kind, [k for k, _ in in_result], f"{attack.name}: {in_result}")

    def check_host(self, attack):
        self.assertEqual(self.bait.touched(), [], f"{attack.name} reached the host")
        uids = self.fleet.job_uids()
        self.assertTrue(uids, "the workers logged no host uid (event=sandbox_ready)")
        deadline = time.monotonic() + LINGER_S
        while processes_of_uids(uids) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(processes_of_uids(uids), [],
                         f"{attack.name}: processes outlived the job")
        self.assertEqual(escape_files(), self.escapes_before,
                         f"{attack.name} wrote to the host's filesystem")
        for path, digest in self.digests.items():
            self.assertEqual(file_digest(path), digest, f"{attack.name} changed {path}")

    def run_attack(self, attack):
        values = self.bait.values()
        args = [a.format(**values) for a in attack.args]
        limits = dict(attack.limits)
        limits.setdefault("wall_ms", 10000)
        job_id = self.fleet.submit(attack.language, attack.source, args=args, limits=limits,
                                   tenant="pentest", job_id=new_job_id())
        result = self.fleet.wait(job_id)
        output = as_bytes(result["stdout"]) + b"\n" + as_bytes(result["stderr"])
        if os.environ.get("CCX_ATTACK_VERBOSE"):
            print(f"\n== {attack.name}: {result['status']} {result['events']}\n"
                  f"{output.decode(errors='replace')}", file=sys.stderr)

        self.assertIn(result["status"], attack.statuses,
                      f"{attack.name}: status {result['status']} ({result.get('reason')}), "
                      f"events {result['events']}, output {output[-2000:]!r}")
        if attack.cpus is not None:
            self.assertLessEqual(result["cpu_ms"], result["wall_ms"] * attack.cpus * CPU_SLACK,
                                 f"{attack.name} used more than {attack.cpus} CPUs: "
                                 f"cpu_ms {result['cpu_ms']} in wall_ms {result['wall_ms']}")
        self.check_output(attack, result, output)
        self.check_events(attack, result, job_id)
        self.check_host(attack)


PEER_HOLDER = b"""
import ctypes, os, socket, time
libc = ctypes.CDLL(None, use_errno=True)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind("\\0ccx-peer-job")
listener.listen(4)
listener.setblocking(False)
shm = libc.shmget(0x5ccc, 4096, 0o1666)
open("/tmp/ccx-peer-file", "w").write("mine")
time.sleep(6)
try:
    listener.accept()
    print("ESCAPED: the other job connected to this one's abstract socket")
except BlockingIOError:
    print("BLOCKED: nobody reached this job's abstract socket")
print("holder shm id", shm)
"""

PEER_PROBE = b"""
import ctypes, os, signal, socket, time
libc = ctypes.CDLL(None, use_errno=True)
time.sleep(2)
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect("\\0ccx-peer-job")
    print("ESCAPED: connected to the other job's abstract socket")
except OSError as e:
    print("BLOCKED: the other job's abstract socket:", e)
shm = libc.shmget(0x5ccc, 0, 0o666)
print("ESCAPED: found the other job's shared memory" if shm >= 0
      else "BLOCKED: the other job's shared memory: errno %d" % ctypes.get_errno())
print("ESCAPED: /tmp holds the other job's file" if os.path.exists("/tmp/ccx-peer-file")
      else "BLOCKED: /tmp holds nothing of the other job")
others = [p for p in range(1, 4096) if p not in (1, os.getpid())
          and os.path.exists("/proc/%d" % p)]
print("ESCAPED: sees processes %s" % others if others
      else "BLOCKED: sees no process but its own and init")
"""


class PeerJobsTest(FleetTestCase):
    """Two jobs at once on the two workers: neither can reach the other."""

    workers = 2

    def test_process_two_jobs_cannot_reach_each_other(self):
        key = ("process", "two_jobs_cannot_reach_each_other")
        AttackTest.outcomes[key] = False
        holder = self.fleet.submit("python", PEER_HOLDER, tenant="pentest",
                                   limits={"wall_ms": 30000})
        probe = self.fleet.submit("python", PEER_PROBE, tenant="pentest",
                                  limits={"wall_ms": 30000})
        probe_result = self.fleet.wait(probe)
        holder_result = self.fleet.wait(holder)

        for result in (probe_result, holder_result):
            self.assertEqual(result["status"], "ok", result)
        self.assertNotEqual(probe_result["worker"], holder_result["worker"],
                            "both jobs ran on one worker: they did not overlap")
        output = as_bytes(probe_result["stdout"]) + as_bytes(holder_result["stdout"])
        self.assertNotIn(b"ESCAPED", output, output)
        self.assertEqual(output.count(b"BLOCKED"), 5, output)
        AttackTest.outcomes[key] = True


def add_attack_tests():
    only = os.environ.get("CCX_ATTACKS")  # a regex over names, to run a few
    for attack in load_attacks():
        if only and not re.search(only, attack.name):
            continue

        def test(self, attack=attack):
            key = (attack.category, attack.name)
            type(self).outcomes[key] = False
            self.run_attack(attack)
            type(self).outcomes[key] = True

        test.__doc__ = f"{attack.category}: {attack.what} ({attack.language})"
        setattr(AttackTest, f"test_{attack.category}_{attack.name}", test)


add_attack_tests()


def tearDownModule():
    AttackTest.print_summary()

if __name__ == "__main__":
    unittest.main()
