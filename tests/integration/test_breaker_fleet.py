"""Circuit breakers through two real hosts on one Redis (docs/BREAKERS.md): a tenant whose
jobs keep trying what the sandbox refuses is stopped on every host at once, its jobs
answered circuit_open without running, while another tenant's jobs run on both; after the
cool-down a probe that behaves closes the breaker again. The hosts are two supervisors with
host names of their own (UTS namespaces), so the two-host rule applies for real."""

import json
import os
import shutil
import tempfile
import time
import unittest
import uuid

from fleet import Fleet, as_bytes, decode, require_root

VERSION = "it-breaker-1"
COOLDOWN_MS = 4000

# A TCP socket is refused by the sandbox's seccomp filter: an escape attempt, and so a
# failure of the tenant, although the program itself only exits 1.
PROBER = "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
BENIGN = "print('fine')\n"


def breaker_policy():
    return {"version": VERSION,
            "defaults": {"breaker": {"enabled": True, "window_calls": 10, "window_ms": 60000,
                                     "min_calls": 4, "failure_pct": 50,
                                     "cooldown_ms": COOLDOWN_MS, "probes": 1,
                                     "min_hosts": 2}}}


class BreakerFleetTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_root()
        suffix = uuid.uuid4().hex[:6]
        cls.hosts = (f"bk1-{suffix}", f"bk2-{suffix}")
        cls.policy_dir = tempfile.mkdtemp(prefix="ccx-it-breaker-")
        policy_path = os.path.join(cls.policy_dir, "policy.json")
        with open(policy_path, "w") as f:
            json.dump(breaker_policy(), f)

        cls.fleets = []
        for host in cls.hosts:
            fleet = Fleet(workers=1, hostname=host, config={"policy": policy_path},
                          redis_of=cls.fleets[0] if cls.fleets else None)
            cls.fleets.append(fleet)
            fleet.start()
        cls.fleet = cls.fleets[0]

    @classmethod
    def tearDownClass(cls):
        # The second host first, so that the first, which owns the Redis, checks the host.
        leftovers = []
        for fleet in reversed(cls.fleets):
            leftovers += fleet.stop(check_host=fleet is cls.fleets[0])
        shutil.rmtree(cls.policy_dir, ignore_errors=True)
        if leftovers:
            raise AssertionError("left on the host:\n  " + "\n  ".join(leftovers))

    def breaker_events(self, tenant):
        found = []
        for _, fields in self.fleet.r.xrange("ccx:events"):
            event = decode(fields[b"event"])
            if str(event.get("kind", "")).startswith("breaker_") and \
                    event.get("tenant") == tenant:
                found.append(event)
        return found

    def run_many(self, tenant, source, count):
        ids = [self.fleet.submit("python", source, tenant=tenant) for _ in range(count)]
        return [self.fleet.wait(i) for i in ids]

    def test_a_probing_tenant_is_refused_on_every_host_and_others_run(self):
        evil = "evil-" + uuid.uuid4().hex[:6]
        good = "good-" + uuid.uuid4().hex[:6]

        # Until the breaker opens, the prober's jobs run and are refused inside the sandbox,
        # on both hosts (one worker each, jobs submitted together).
        ran = []
        for _ in range(5):
            batch = self.run_many(evil, PROBER, 4)
            ran += [r for r in batch if r["status"] != "circuit_open"]
            if any(r["status"] == "circuit_open" for r in batch):
                break
        self.assertTrue(ran, "no job of the tenant ran before its breaker opened")
        self.assertTrue(all("syscall_refused" in [e["kind"] for e in r["events"]]
                            for r in ran))
        self.assertEqual({r["host"] for r in ran}, set(self.hosts),
                         "the failures should come from both hosts")

        opened = [e for e in self.breaker_events(evil) if e["kind"] == "breaker_opened"]
        self.assertEqual(len(opened), 1, self.breaker_events(evil))
        self.assertEqual(opened[0]["scope"], "tenant")

        # Open: every host answers the tenant at once, without running anything. One job
        # at a time, so that the host whose worker waited longest takes the next.
        refused = []
        while {r["host"] for r in refused} != set(self.hosts) and len(refused) < 40:
            refused.append(self.fleet.run("python", PROBER, tenant=evil))
        self.assertEqual({r["status"] for r in refused}, {"circuit_open"})
        self.assertEqual({r["host"] for r in refused}, set(self.hosts))
        for r in refused:
            self.assertIn("circuit breaker is open", r["reason"])
            self.assertEqual(r["events"], [])
            self.assertEqual(r["attempt"], 1)
            self.assertEqual(as_bytes(r["stdout"]), b"")

        # Another tenant is not touched, on either host.
        others = []
        while {r["host"] for r in others} != set(self.hosts) and len(others) < 40:
            others += self.run_many(good, BENIGN, 2)
        self.assertEqual({r["status"] for r in others}, {"ok"})
        self.assertEqual({r["host"] for r in others}, set(self.hosts))

        # After the cool-down one probe goes through; it behaves, and the breaker closes.
        time.sleep(COOLDOWN_MS / 1000 + 0.5)
        probe = self.fleet.run("python", BENIGN, tenant=evil)
        self.assertEqual(probe["status"], "ok")
        kinds = [e["kind"] for e in self.breaker_events(evil)]
        self.assertEqual(kinds, ["breaker_opened", "breaker_half_open", "breaker_closed"])
        after = self.run_many(evil, BENIGN, 2)
        self.assertEqual({r["status"] for r in after}, {"ok"})


if __name__ == "__main__":
    unittest.main()
