"""Tenant policies through a real fleet: what a tenant's policy changes in its jobs (limit
defaults and ceilings, languages, children, /tmp, the seccomp profile), the policy_version
every result carries, and SIGHUP reloads of the policy file (docs/POLICY.md).

Each class runs its own fleet, whose policy file lives in the fleet's temp dir."""

import json
import os
import re
import signal
import threading
import time
import unittest

from fleet import (SOURCE_DIR, Fleet, FleetTestCase, _proc_stat, as_bytes, descendants,
                   fleet_config, is_intake, require_root)

VERSION = "it-policy-1"

STRICT_REMOVED = ("mkdir", "mkdirat")

FORK_PROBE = r"""
import errno, os, subprocess, threading
out = []
t = threading.Thread(target=lambda: out.append("thread ok"))
t.start(); t.join()
print(out[0])
try:
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    print("fork ok", os.WEXITSTATUS(status))
except OSError as e:
    print("fork", errno.errorcode[e.errno])
try:
    print("subprocess ok", subprocess.run(["/bin/true"]).returncode)
except OSError as e:
    print("subprocess", errno.errorcode[e.errno])
"""


def policy_document(version, **tenants):
    """A policy file's contents: the shipped defaults, and tenants over them."""
    return {"version": version, "defaults": {"processes": {"children": True},
                                             "breaker": {"enabled": False}},
            "tenants": tenants}


def strict_profile(path):
    """The shipped seccomp profile without mkdir, written to path."""
    with open(os.path.join(SOURCE_DIR, "deploy", "seccomp.json")) as f:
        profile = json.load(f)
    profile["allow"] = [name for name in profile["allow"] if name not in STRICT_REMOVED]
    with open(path, "w") as f:
        json.dump(profile, f)


class PolicyFleetTestCase(FleetTestCase):
    """A FleetTestCase whose config names a policy file in the fleet's temp dir, written from
    policy() before the fleet starts."""

    @classmethod
    def policy(cls, tmp):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.fleet = Fleet(cls.workers, cls.fleet_env, cls.fleet_config)
        cls.policy_path = os.path.join(cls.fleet.tmp, "policy.json")
        cls.write_policy(cls.policy(cls.fleet.tmp))
        cls.fleet.config = fleet_config(cls.fleet.config_path,
                                        dict(cls.fleet_config, policy=cls.policy_path))
        cls.fleet.start()

    @classmethod
    def write_policy(cls, document):
        # Written whole under another name, then renamed: a reload never reads half a file.
        with open(cls.policy_path + ".new", "w") as f:
            f.write(document if isinstance(document, str) else json.dumps(document))
        os.rename(cls.policy_path + ".new", cls.policy_path)

    def assert_status(self, result, status):
        self.assertEqual(result["status"], status,
                         f"result: { {k: v for k, v in result.items() if k != 'enforced'} }")

    def refusals(self, result):
        return [e["detail"] for e in result["events"] if e["kind"] == "syscall_refused"]


class TenantPolicyTest(PolicyFleetTestCase):
    """One policy, several tenants: what each one's jobs get."""

    @classmethod
    def policy(cls, tmp):
        cls.strict_path = os.path.join(tmp, "strict-seccomp.json")
        strict_profile(cls.strict_path)
        return policy_document(
            VERSION,
            acme={"resources": {"limits": {"wall_ms": {"default": 1000},
                                           "memory_mb": {"default": 128, "max": 256}}},
                  "code": {"languages": ["python", "sh"]}},
            nokids={"processes": {"children": False}},
            smalltmp={"filesystem": {"tmp_mb": 4}},
            strict={"code": {"seccomp_profile": "strict-seccomp.json"}})

    # -- limits ----------------------------------------------------------------------------

    def test_tenant_wall_default_applies_to_a_job_that_sets_none(self):
        source = "import time\ntime.sleep(3)\nprint('woke')\n"
        acme = self.fleet.run("python", source, tenant="acme")
        other = self.fleet.run("python", source, tenant="other")

        self.assert_status(acme, "timeout")
        self.assertIn("wall_ms=1000", [e["detail"] for e in acme["events"]
                                       if e["kind"] == "timeout"])
        self.assert_status(other, "ok")
        self.assertEqual(as_bytes(other["stdout"]), b"woke\n")

    def test_a_limit_the_job_sets_wins_over_the_tenant_default(self):
        result = self.fleet.run("python", "import time\ntime.sleep(1.5)\nprint('ok')\n",
                                tenant="acme", limits={"wall_ms": 5000})

        self.assert_status(result, "ok")

    def test_a_limit_over_the_tenant_ceiling_is_rejected_naming_it(self):
        over = self.fleet.run("python", "print(1)\n", tenant="acme", limits={"memory_mb": 512})
        at = self.fleet.run("python", "print(1)\n", tenant="acme", limits={"memory_mb": 256})
        other = self.fleet.run("python", "print(1)\n", tenant="other",
                               limits={"memory_mb": 512})

        self.assert_status(over, "rejected")
        self.assertEqual(over["reason"],
                         "limits.memory_mb 512 is above the ceiling 256 of tenant 'acme'")
        self.assertEqual(over["policy_version"], VERSION)
        self.assert_status(at, "ok")
        self.assert_status(other, "ok")

    # -- languages -------------------------------------------------------------------------

    def test_a_language_the_tenant_may_not_use_is_rejected_naming_both(self):
        refused = self.fleet.run("node", "console.log(1);\n", tenant="acme")
        allowed = self.fleet.run("sh", "echo hi\n", tenant="acme")

        self.assert_status(refused, "rejected")
        self.assertEqual(refused["reason"],
                         "language 'node' is not allowed for tenant 'acme' (allowed: python, sh)")
        self.assertIsNone(refused["exit_code"])
        self.assert_status(allowed, "ok")

    # -- children --------------------------------------------------------------------------

    def test_without_children_fork_and_subprocess_get_eperm_and_threads_work(self):
        result = self.fleet.run("python", FORK_PROBE, tenant="nokids")

        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]).decode().splitlines(),
                         ["thread ok", "fork EPERM", "subprocess EPERM"])
        refusals = self.refusals(result)
        self.assertTrue(any(d.startswith("syscall=clone ") and "children=refused" in d
                            for d in refusals), refusals)
        self.assertTrue(all("errno=EPERM" in d for d in refusals), refusals)
        self.assertTrue(result["enforced"]["children"].startswith("refused"),
                        result["enforced"])
        events = self.fleet.events_for(result["id"], "syscall_refused")
        self.assertIn("syscall_refused", [e["kind"] for e in events])

    def test_without_children_node_still_runs_its_threads(self):
        result = self.fleet.run("node", "console.log('node ok');\n", tenant="nokids")

        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]), b"node ok\n")
        self.assertEqual(self.refusals(result), [])

    def test_the_default_tenant_may_fork(self):
        result = self.fleet.run("python", FORK_PROBE)

        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]).decode().splitlines(),
                         ["thread ok", "fork ok 7", "subprocess ok 0"])
        self.assertEqual(self.refusals(result), [])
        self.assertEqual(result["enforced"]["children"], "allowed")

    def test_without_children_a_compile_step_still_runs_the_compiler(self):
        source = ("#include <stdio.h>\n#include <unistd.h>\n#include <errno.h>\n"
                  "int main(void) { pid_t p = fork(); printf(\"%d %d\\n\", p, errno);"
                  " return 0; }\n")
        result = self.fleet.run("c", source, tenant="nokids")

        self.assert_status(result, "ok")
        self.assertEqual(result["compile"]["status"], "ok")
        self.assertEqual(as_bytes(result["stdout"]), b"-1 1\n")

    # -- /tmp and seccomp ------------------------------------------------------------------

    def test_tmp_has_the_tenants_size(self):
        source = ("import os\nfor p in ('/tmp', '/dev/shm'):\n"
                  "    s = os.statvfs(p)\n    print(s.f_blocks * s.f_frsize // 1048576)\n")
        small = self.fleet.run("python", source, tenant="smalltmp")
        other = self.fleet.run("python", source, tenant="other")

        self.assert_status(small, "ok")
        self.assertEqual(as_bytes(small["stdout"]), b"4\n4\n")
        tmp_mb = self.fleet.config["sandbox"]["tmp_mb"]
        self.assertEqual(as_bytes(other["stdout"]), f"{tmp_mb}\n{tmp_mb}\n".encode())

    def test_the_tenants_seccomp_profile_applies(self):
        source = ("import errno, os\ntry:\n    os.mkdir('/tmp/d')\n    print('made')\n"
                  "except OSError as e:\n    print(errno.errorcode[e.errno])\n")
        strict = self.fleet.run("python", source, tenant="strict")
        other = self.fleet.run("python", source, tenant="other")

        self.assert_status(strict, "ok")
        self.assertEqual(as_bytes(strict["stdout"]), b"EPERM\n")
        self.assertTrue(any(d.startswith("syscall=mkdir") for d in self.refusals(strict)),
                        strict["events"])
        self.assertIn(self.strict_path, strict["enforced"]["seccomp"])
        self.assertEqual(as_bytes(other["stdout"]), b"made\n")
        self.assertNotIn(self.strict_path, other["enforced"]["seccomp"])

    # -- the version -----------------------------------------------------------------------

    def test_every_result_names_the_policy_version(self):
        results = [
            self.fleet.run("python", "print(1)\n"),
            self.fleet.run("python", "raise SystemExit(3)\n", tenant="acme"),
            self.fleet.run("c", "int main(void) { return }\n"),
            self.fleet.run("cobol", "DISPLAY 'HI'.\n"),
            self.fleet.run("python", "print(1)\n", tenant="bad tenant"),
        ]
        entry = self.fleet.raw_xadd(b"\xc1 not msgpack")
        results.append(self.fleet.wait(entry))

        self.assertEqual([r["status"] for r in results],
                         ["ok", "error_exit", "compile_error", "rejected", "rejected",
                          "rejected"])
        self.assertEqual({r["policy_version"] for r in results}, {VERSION})


class PolicyReloadTest(PolicyFleetTestCase):
    """SIGHUP to the supervisor: a file that passes is loaded by every worker between two
    jobs; one that does not leaves the old policy in force."""

    workers = 2

    @classmethod
    def policy(cls, tmp):
        return cls.document("reload-1")

    @classmethod
    def document(cls, version):
        return policy_document(version, acme={"code": {"languages": ["python"]}})

    def setUp(self):
        self.version = self.current_version()

    def current_version(self):
        return self.fleet.run("python", "print(1)\n")["policy_version"]

    def reload(self, version):
        """Writes a valid file of version, sends SIGHUP and waits until both workers say they
        loaded it. Returns the log offset from before the signal."""
        offset = self.fleet.log_size()
        self.write_policy(self.document(version))
        self.fleet.supervisor.send_signal(signal.SIGHUP)
        self.assertTrue(self.fleet.wait_log(rf"event=policy_reloaded version={version} ",
                                            offset),
                        "the supervisor did not accept the file")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            loaded = re.findall(rf"worker=(\d+) event=policy_loaded version={version} ",
                                self.fleet.log_text(offset))
            if len(set(loaded)) == self.workers:
                return offset
            time.sleep(0.05)
        self.fail(f"not every worker loaded {version}: {self.fleet.log_text(offset)}")

    def test_jobs_submitted_during_a_reload_are_all_answered_once(self):
        new = self.version + "-next"
        ids, stop = [], threading.Event()

        def submit():
            while not stop.is_set():
                ids.append(self.fleet.submit("python", "print('x')\n"))
                time.sleep(0.02)

        thread = threading.Thread(target=submit)
        thread.start()
        try:
            time.sleep(1.0)
            offset = self.reload(new)
            time.sleep(1.0)
        finally:
            stop.set()
            thread.join()

        results = {i: self.fleet.wait(i) for i in ids}
        self.assertGreater(len(ids), 20)
        self.assertEqual({r["status"] for r in results.values()}, {"ok"})
        self.assertEqual({r["attempt"] for r in results.values()}, {1})
        self.assertLessEqual({r["policy_version"] for r in results.values()},
                             {self.version, new})
        started = re.findall(r'job_id="([^"]+)" tenant="default" event=job_started',
                             self.fleet.log_text())
        for job_id in ids:
            self.assertEqual(started.count(job_id), 1, f"{job_id} started other than once")
        self.assertEqual(self.fleet.r.xlen("ccx:jobs"), 0)
        self.assertIsNone(re.search(r"event=(redis_unreachable|job_take_failed|"
                                    r"sandbox_setup_failed|worker_exited)",
                                    self.fleet.log_text(offset)))

        after = [self.fleet.run("python", "print(1)\n") for _ in range(4)]
        self.assertEqual({r["policy_version"] for r in after}, {new})

    def test_a_running_job_finishes_under_its_policy_and_the_worker_reloads_after(self):
        new = self.version + "-late"
        job_id = self.fleet.submit("python", "import time\ntime.sleep(2)\nprint('done')\n",
                                   tenant="acme")
        started = self.fleet.wait_log(rf'job_id="{job_id}" tenant="acme" event=job_started')
        self.assertTrue(started)
        worker = re.search(r"worker=(\d+) job_id", self.fleet.log_text()[
            max(0, started.start() - 80):started.end()]).group(1)

        offset = self.reload(new)
        result = self.fleet.wait(job_id)

        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]), b"done\n")
        self.assertEqual(result["policy_version"], self.version)
        log = self.fleet.log_text(offset)
        finished = log.index(f'job_id="{job_id}" tenant="acme" event=job_finished')
        loaded = log.index(f"worker={worker} event=policy_loaded version={new} ")
        self.assertLess(finished, loaded, "the worker loaded the policy during the job")

    def test_an_invalid_file_leaves_the_old_version_in_force(self):
        offset = self.fleet.log_size()
        bad = self.document(self.version + "-bad")
        bad["tenants"]["acme"]["quotas"] = {"burst": -1}
        self.write_policy(bad)
        try:
            self.fleet.supervisor.send_signal(signal.SIGHUP)
            line = self.fleet.wait_log(r"level=err .*event=policy_reload_failed .*", offset)
            self.assertTrue(line, self.fleet.log_text(offset))
            self.assertIn(f'file="{self.policy_path}"', line.group(0))
            self.assertIn("field=tenants.acme.quotas.burst", line.group(0))
            self.assertIn('reason="must be at least 0 (it is -1)"', line.group(0))
            self.assertIn(f"version={self.version}", line.group(0))

            results = [self.fleet.run("python", "print(1)\n") for _ in range(4)]
            self.assertEqual({r["policy_version"] for r in results}, {self.version})
            self.assertIsNone(re.search(r"event=policy_load(ed|_failed)",
                                        self.fleet.log_text(offset)),
                              "a worker was told to reload")
        finally:
            self.write_policy(self.document(self.version))

    def worker_pids(self):
        """The supervisor's own children: its workers (not their sandbox children)."""
        pids = []
        for pid in descendants(self.fleet.supervisor.pid):
            stat = _proc_stat(pid)
            if stat and stat[0] == "ccx-worker" and stat[2] == self.fleet.supervisor.pid \
                    and not is_intake(pid):
                pids.append(pid)
        return pids

    def test_a_worker_keeps_its_policy_when_the_file_it_reads_is_invalid(self):
        # The supervisor checks the file before it tells the workers; a worker checks it
        # again, since the file may change in between. Signalled directly here, so that the
        # worker reads a file the supervisor never accepted.
        offset = self.fleet.log_size()
        pids = self.worker_pids()
        self.assertEqual(len(pids), self.workers, pids)
        self.write_policy('{"version": "x", "tenants": {"acme": {"quotas": {"burst": -1}}}}')
        try:
            for pid in pids:
                os.kill(pid, signal.SIGHUP)
            deadline = time.monotonic() + 30
            failed = []
            while time.monotonic() < deadline and len(failed) < self.workers:
                failed = re.findall(r"level=err comp=worker worker=\d+ "
                                    r"event=policy_load_failed .*", self.fleet.log_text(offset))
                time.sleep(0.05)
            self.assertEqual(len(failed), self.workers, self.fleet.log_text(offset))
            for line in failed:
                self.assertIn(f'file="{self.policy_path}"', line)
                self.assertIn("field=tenants.acme.quotas.burst", line)
                self.assertIn('reason="must be at least 0 (it is -1)"', line)
                self.assertIn(f"action=kept version={self.version}", line)

            results = [self.fleet.run("python", "print(1)\n") for _ in range(4)]
            self.assertEqual({r["policy_version"] for r in results}, {self.version})
            self.assertEqual(sorted(self.worker_pids()), sorted(pids), "a worker restarted")
        finally:
            self.write_policy(self.document(self.version))

if __name__ == "__main__":
    unittest.main()
