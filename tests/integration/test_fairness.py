"""Fair shares between tenants behind the intake (docs/FAIRNESS.md): a flood of one tenant
does not hold up another, weights split the workers, concurrency and rate caps make jobs
wait (never drop them), and a tenant past its queued budget is answered over_quota at once.

Order and counts come from the job_queued / job_started / job_finished events on ccx:events,
which the scripts publish in the same step as the state they describe."""

import json
import os
import shutil
import signal
import tempfile
import time

import msgpack

from fleet import FleetTestCase, decode, new_job_id

SH_ONE_LINE = b"echo one line\n"
FLOOD_JOBS = 10000

POLICY = {
    "version": "fairness-test-1",
    "defaults": {"quotas": {"weight": 1}},
    "tenants": {
        "heavy": {"quotas": {"weight": 3}},
        "light": {"quotas": {"weight": 1}},
        "capped": {"quotas": {"concurrency": 1}},
        "rated": {"quotas": {"rate_per_s": 2, "burst": 1}},
        "budget": {"quotas": {"queued_jobs": 3, "concurrency": 1}},
    },
}

# Drops what is still queued of a tenant (entry ids in its ready list): the flood is not
# run to the end. Atomic, so that a claim sees each entry either queued or gone.
DROP_QUEUED = """
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
for _, id in ipairs(ids) do
    redis.call('XDEL', KEYS[2], id)
    redis.call('DEL', 'ccx:lease:' .. id)
end
redis.call('HSET', KEYS[3], 'queued', 0, 'queued_bytes', 0)
return #ids
"""


def events(r, start="-"):
    """The decoded ccx:events entries from id start on, with their stream ids."""
    return [(eid, decode(fields[b"event"])) for eid, fields in r.xrange("ccx:events", start)]


class FairnessTest(FleetTestCase):
    workers = 2

    @classmethod
    def setUpClass(cls):
        cls.policy_dir = tempfile.mkdtemp(prefix="ccx-fair-policy-")
        cls.policy_path = os.path.join(cls.policy_dir, "policy.json")
        with open(cls.policy_path, "w") as f:
            json.dump(POLICY, f)
        cls.fleet_config = {"policy": cls.policy_path}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.policy_dir, ignore_errors=True)

    def job(self, tenant, source=SH_ONE_LINE):
        return {"id": new_job_id(), "language": "sh", "tenant": tenant, "source": source}

    def xadd_all(self, jobs):
        pipe = self.fleet.r.pipeline(transaction=False)
        for job in jobs:
            pipe.xadd("ccx:jobs", {"job": msgpack.packb(job, use_bin_type=True)})
        return pipe.execute()

    def wait_admitted(self, timeout_s=120):
        """Waits until the intake has read and admitted every entry of ccx:jobs."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            group = [g for g in self.fleet.r.xinfo_groups("ccx:jobs")
                     if g["name"] == b"ccx-workers"][0]
            if group["lag"] == 0 and group["pending"] == 0:
                return
            time.sleep(0.1)
        self.fail(f"the intake did not admit everything within {timeout_s} s: {group}")

    def wait_all(self, ids, timeout_s=120):
        return {job_id: self.fleet.wait(job_id, timeout_s=timeout_s) for job_id in ids}

    def started_order(self, evs, tenants):
        return [e for _, e in evs if e["kind"] == "job_started" and e["tenant"] in tenants]

    def test_flood_does_not_hold_up_another_tenant(self):
        r = self.fleet.r
        start = r.xadd("ccx:events", {"event": msgpack.packb({"kind": "marker"})})
        self.xadd_all([self.job("flood") for _ in range(FLOOD_JOBS)])
        self.wait_admitted()
        queued = int(r.hget("ccx:tenant:flood", "queued") or 0)
        self.assertGreater(queued, FLOOD_JOBS // 2, "the flood ran before the test went on")

        late = self.job("late")
        self.xadd_all([late])
        result = self.fleet.wait(late["id"], timeout_s=60)
        self.assertEqual(result["status"], "ok", result)
        dropped = r.eval(DROP_QUEUED, 3, "ccx:tq:flood", "ccx:jobs", "ccx:tenant:flood")
        self.assertGreater(dropped, 0)

        evs = events(r, start)
        queued_at = [i for i, (_, e) in enumerate(evs)
                     if e["kind"] == "job_queued" and e["job_id"] == late["id"]]
        started_at = [i for i, (_, e) in enumerate(evs)
                      if e["kind"] == "job_started" and e["job_id"] == late["id"]]
        self.assertEqual(len(queued_at), 1)
        self.assertEqual(len(started_at), 1)
        flood_between = [e for _, e in evs[queued_at[0]:started_at[0]]
                         if e["kind"] == "job_started" and e["tenant"] == "flood"]
        self.assertLessEqual(len(flood_between), self.workers + 1,
                             f"{len(flood_between)} flood jobs started before the late one")
        self.fleet.r.delete("ccx:wake")

    def test_a_tenant_that_had_the_fleet_alone_is_not_starved_later(self):
        # Alone, a tenant runs ahead of everybody's pass; when it comes back among others
        # it must start at the fleet's virtual time, not pay for the past.
        r = self.fleet.r
        alone = [self.job("solo") for _ in range(60)]
        self.xadd_all(alone)
        self.wait_all([job["id"] for job in alone])

        start = r.xadd("ccx:events", {"event": msgpack.packb({"kind": "marker"})})
        self.xadd_all([self.job("crowd") for _ in range(400)])
        self.wait_admitted()
        back = self.job("solo")
        self.xadd_all([back])
        result = self.fleet.wait(back["id"], timeout_s=60)
        self.assertEqual(result["status"], "ok", result)
        r.eval(DROP_QUEUED, 3, "ccx:tq:crowd", "ccx:jobs", "ccx:tenant:crowd")

        evs = events(r, start)
        queued_at = [i for i, (_, e) in enumerate(evs)
                     if e["kind"] == "job_queued" and e["job_id"] == back["id"]][0]
        started_at = [i for i, (_, e) in enumerate(evs)
                      if e["kind"] == "job_started" and e["job_id"] == back["id"]][0]
        crowd_between = [e for _, e in evs[queued_at:started_at]
                         if e["kind"] == "job_started" and e["tenant"] == "crowd"]
        self.assertLessEqual(len(crowd_between), self.workers + 1,
                             f"{len(crowd_between)} crowd jobs started before the solo one")
        self.fleet.r.delete("ccx:wake")

    def test_weights_split_the_workers(self):
        r = self.fleet.r
        start = r.xadd("ccx:events", {"event": msgpack.packb({"kind": "marker"})})
        jobs = []
        for _ in range(48):
            jobs += [self.job("heavy"), self.job("light")]
        self.xadd_all(jobs)
        self.wait_all([j["id"] for j in jobs])

        started = self.started_order(events(r, start), {"heavy", "light"})
        self.assertEqual(len(started), 96)
        # While both are backlogged (the first 32 starts: 24 and 8 by the weights).
        first = [e["tenant"] for e in started[:32]]
        heavy, light = first.count("heavy"), first.count("light")
        self.assertGreater(light, 0, first)
        self.assertTrue(2.0 <= heavy / light <= 4.5, f"heavy {heavy} light {light}: {first}")

    def test_concurrency_cap_makes_jobs_wait(self):
        r = self.fleet.r
        start = r.xadd("ccx:events", {"event": msgpack.packb({"kind": "marker"})})
        jobs = [self.job("capped", b"sleep 0.3; echo done\n") for _ in range(6)]
        self.xadd_all(jobs)
        results = self.wait_all([j["id"] for j in jobs])
        self.assertEqual({res["status"] for res in results.values()}, {"ok"})

        running = peak = 0
        for _, e in events(r, start):
            if e.get("tenant") != "capped":
                continue
            if e["kind"] == "job_started":
                running += 1
            elif e["kind"] == "job_finished":
                running -= 1
            peak = max(peak, running)
        self.assertEqual(peak, 1)
        self.assertEqual(running, 0)
        self.assertEqual(int(r.hget("ccx:tenant:capped", "running")), 0)

    def test_rate_limit_spaces_starts(self):
        r = self.fleet.r
        start = r.xadd("ccx:events", {"event": msgpack.packb({"kind": "marker"})})
        jobs = [self.job("rated") for _ in range(6)]
        self.xadd_all(jobs)
        results = self.wait_all([j["id"] for j in jobs])
        self.assertEqual({res["status"] for res in results.values()}, {"ok"})

        stamps = [e["ts"] for e in self.started_order(events(r, start), {"rated"})]
        self.assertEqual(len(stamps), 6)
        # rate_per_s 2 and burst 1: a token every 500 ms of Redis's clock, one start each.
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        self.assertTrue(all(g >= 490 for g in gaps), gaps)

    def test_queued_budget_answers_over_quota(self):
        r = self.fleet.r
        first = self.job("budget", b"sleep 3; echo first\n")
        self.xadd_all([first])
        self.wait_started(first["id"])

        waiting = [self.job("budget") for _ in range(3)]
        over = self.job("budget")
        self.xadd_all(waiting + [over])
        answer = self.fleet.wait(over["id"], timeout_s=30)
        self.assertEqual(answer["status"], "rejected", answer)
        self.assertIn("over_quota", answer["reason"])
        self.assertIn("tenant budget has 3 jobs queued, its budget is 3", answer["reason"])
        self.assertIsNone(r.get("ccx:result:" + first["id"]), "over_quota was not at once")

        results = self.wait_all([first["id"]] + [j["id"] for j in waiting])
        self.assertEqual({res["status"] for res in results.values()}, {"ok"})

    def wait_started(self, job_id, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while not [e for _, e in events(self.fleet.r) if e["kind"] == "job_started"
                   and e["job_id"] == job_id]:
            self.assertLess(time.monotonic(), deadline, f"{job_id} never started")
            time.sleep(0.05)

    def test_zz_a_reloaded_policy_reaches_the_intake(self):
        # A tenant the file did not name had the defaults' budget (none): after SIGHUP the
        # intake is restarted with the new file, and its budget of 1 applies.
        policy = json.loads(json.dumps(POLICY))
        policy["version"] = "fairness-test-2"
        policy["tenants"]["newcomer"] = {"quotas": {"queued_jobs": 1, "concurrency": 1}}
        with open(self.policy_path, "w") as f:
            json.dump(policy, f)
        offset = self.fleet.log_size()
        self.fleet.supervisor.send_signal(signal.SIGHUP)
        self.assertIsNotNone(self.fleet.wait_log(r"event=policy_reloaded .*intake_restarted=1",
                                                 offset, 10))
        self.assertIsNotNone(self.fleet.wait_log(r"event=intake_started .*"
                                                 r"policy_version=fairness-test-2", offset, 10))

        first = self.job("newcomer", b"sleep 2; echo first\n")
        self.xadd_all([first])
        self.wait_started(first["id"])
        waiting, over = self.job("newcomer"), self.job("newcomer")
        self.xadd_all([waiting, over])
        answer = self.fleet.wait(over["id"], timeout_s=30)
        self.assertEqual(answer["status"], "rejected", answer)
        self.assertIn("tenant newcomer has 1 jobs queued, its budget is 1", answer["reason"])
        self.assertEqual(answer["policy_version"], "fairness-test-2")
        results = self.wait_all([first["id"], waiting["id"]])
        self.assertEqual({res["status"] for res in results.values()}, {"ok"})


if __name__ == "__main__":
    import unittest
    unittest.main()
