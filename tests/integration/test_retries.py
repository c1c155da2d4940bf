"""Retries, dead letters and poison jobs, through a real fleet.

How a run is made to end internal_error for real: the fleet has one more language, `flaky`,
whose interpreter is a path in a host directory bound read-only into every sandbox
(TOOLS_DIR). While that path is missing, ccx-init's execve fails inside the sandbox and the
worker reports internal_error (the language table names a program this host lacks: our
fault, not the job's). The tests create the path (a symlink to bash) or leave it missing to
choose whether the next run succeeds. No job code runs on the host; the directory is outside
/tmp because the sandbox mounts its own /tmp over that.

A poison job is one whose worker dies under it: the test SIGKILLs the worker that runs the
job each time the job starts."""

import os
import re
import shutil
import signal
import time
import unittest
import uuid

import msgpack

from fleet import FleetTestCase, as_bytes, decode, fleet_names, new_job_id

LEASE_MS = 3000
BACKOFF_MS = 1000
MAX_ATTEMPTS = 3
POISON = 2
TOOLS_DIR = "/var/tmp/ccx-it-tools-{}-{}".format(
    fleet_names()[0].replace("ccx-", "") if fleet_names()[0] != "ccx" else "main",
    uuid.uuid4().hex[:8])
INTERPRETER = os.path.join(TOOLS_DIR, "sh")


def job_line(job_id):
    """A regex for a log line of job_id up to its event=: log_job quotes the id."""
    return r'job_id="?' + re.escape(job_id) + r'"? .*'


class RetryTest(FleetTestCase):

    fleet_config = {
        "lease_ms": LEASE_MS,
        "max_attempts": MAX_ATTEMPTS,
        "retry_backoff_ms": BACKOFF_MS,
        "poison_deliveries": POISON,
        "sandbox": {},
        "languages": {"flaky": {"source_name": "main.sh", "run": [INTERPRETER, "{main}"]}},
    }

    @classmethod
    def setUpClass(cls):
        # The bind must exist when the workers start: they skip binds a host lacks.
        os.makedirs(TOOLS_DIR, exist_ok=True)
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "deploy",
                               "ccx.json")) as f:
            shipped = __import__("json").load(f)
        cls.fleet_config = dict(cls.fleet_config)
        cls.fleet_config["sandbox"] = {"ro_binds": shipped["sandbox"]["ro_binds"] + [TOOLS_DIR]}
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(TOOLS_DIR, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(TOOLS_DIR, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------

    def interpreter(self, present):
        if present and not os.path.lexists(INTERPRETER):
            os.symlink("/usr/bin/bash", INTERPRETER)
        if not present and os.path.lexists(INTERPRETER):
            os.unlink(INTERPRETER)

    def stats(self):
        return {k.decode(): int(v) for k, v in self.fleet.r.hgetall("ccx:stats").items()}

    def dead_letters(self, job_id):
        found = []
        for entry_id, fields in self.fleet.r.xrange("ccx:dead"):
            fields = {k.decode(): v for k, v in fields.items()}
            if fields["job_id"].decode() == job_id:
                fields["history"] = decode(fields["history"])
                found.append(fields)
        return found

    def assert_retired(self, entry_id):
        r = self.fleet.r
        self.assertEqual(r.xrange("ccx:jobs", entry_id, entry_id), [])
        self.assertIsNone(r.zscore("ccx:leases", entry_id))
        self.assertFalse(r.exists("ccx:lease:" + entry_id))
        self.assertEqual(r.xpending_range("ccx:jobs", "ccx-workers", entry_id, entry_id, 1), [])

    def enqueue_flaky(self, **fields):
        job_id = new_job_id()
        job = {"id": job_id, "language": "flaky", "source": b"echo hello from attempt\n",
               "tenant": "acme"}
        job.update(fields)
        payload = msgpack.packb(job, use_bin_type=True)
        return job_id, self.fleet.raw_xadd(payload), payload

    # -- (1) an internal_error is retried, and the next run succeeds ---------------------

    def test_internal_error_is_retried_after_the_backoff_and_then_succeeds(self):
        self.interpreter(False)
        offset = self.fleet.log_size()
        before = self.stats()
        job_id, entry_id, _ = self.enqueue_flaky()

        match = self.fleet.wait_log(job_line(job_id) + r"event=retry_scheduled .*attempt=1 "
                                    r"max_attempts=3 backoff_ms=(\d+) reason=", offset, 20)
        self.assertIsNotNone(match, "the first run's internal_error scheduled no retry")
        scheduled_at = time.monotonic()
        backoff_ms = int(match.group(1))
        self.assertGreaterEqual(backoff_ms, BACKOFF_MS * 0.8)
        self.assertLessEqual(backoff_ms, BACKOFF_MS * 1.2)
        self.assertIsNone(self.fleet.r.get("ccx:result:" + job_id), "stored as final")
        lease = self.fleet.r.hgetall("ccx:lease:" + entry_id)
        self.assertEqual(lease[b"state"], b"retry")
        self.interpreter(True)

        result = self.fleet.wait(job_id, timeout_s=30)
        waited_s = time.monotonic() - scheduled_at
        started = self.fleet.wait_log(job_line(job_id) + r"event=job_started .*attempt=2",
                                      offset, 1)
        print(f"\n  retry: backoff_ms={backoff_ms}, the result came {waited_s:.2f} s after "
              f"the retry was scheduled", flush=True)
        self.assertEqual(result["status"], "ok", result.get("reason"))
        self.assertEqual(result["attempt"], 2)
        self.assertEqual(as_bytes(result["stdout"]), b"hello from attempt\n")
        self.assertIsNotNone(started)
        self.assertGreaterEqual(waited_s, backoff_ms / 1000 - 0.2)
        self.assertLess(waited_s, backoff_ms / 1000 + 5)
        self.assertEqual(self.stats().get("retries", 0), before.get("retries", 0) + 1)
        self.assertEqual(self.dead_letters(job_id), [])
        self.assert_retired(entry_id)

    # -- (3) past max_attempts: ccx:dead, with the history, and a final result -----------

    def test_internal_error_at_every_attempt_is_dead_lettered_with_its_history(self):
        self.interpreter(False)
        offset = self.fleet.log_size()
        before = self.stats()
        job_id, entry_id, payload = self.enqueue_flaky(meta={"ticket": 7})

        result = self.fleet.wait(job_id, timeout_s=60)
        self.assertEqual(result["status"], "dead_letter")
        self.assertEqual(result["attempt"], 3)
        self.assertEqual(result["tenant"], "acme")
        self.assertEqual(result["meta"], {"ticket": 7})
        self.assertRegex(result["reason"], r"^gave up after 3 attempts; the last: "
                                           r"internal_error: ")
        self.assertEqual(len(re.findall(job_line(job_id) + r"event=retry_scheduled",
                                        self.fleet.log_text(offset))), 2)
        self.assertIsNotNone(self.fleet.wait_log(
            job_line(job_id) + r"event=dead_lettered .*attempts=3", offset, 2))

        [dead] = self.dead_letters(job_id)
        self.assertEqual(dead["entry_id"].decode(), entry_id)
        self.assertEqual(dead["tenant"], b"acme")
        self.assertEqual(dead["kind"], b"max_attempts")
        self.assertEqual(dead["reason"].decode(), result["reason"])
        self.assertEqual(dead["attempts"], b"3")
        self.assertEqual(dead["job"], payload, "the original message")
        self.assertEqual([h["attempt"] for h in dead["history"]], [1, 2, 3])
        for item in dead["history"]:
            self.assertEqual(item["ended"], "internal_error")
            self.assertIn("could not be set up", item["reason"])
            self.assertTrue(item["host"] and item["consumer"])
        events = self.fleet.events_for(job_id, "dead_lettered")
        self.assertIn("dead_lettered", [e["kind"] for e in events])
        after = self.stats()
        self.assertEqual(after.get("retries", 0), before.get("retries", 0) + 2)
        self.assertEqual(after.get("dead_letters", 0), before.get("dead_letters", 0) + 1)
        self.assert_retired(entry_id)

    # -- (5) a job's own max_attempts ----------------------------------------------------

    def test_a_jobs_own_max_attempts_is_honoured(self):
        self.interpreter(False)
        offset = self.fleet.log_size()
        two_id, two_entry, _ = self.enqueue_flaky(max_attempts=2)
        one_id, one_entry, _ = self.enqueue_flaky(max_attempts=1)

        one = self.fleet.wait(one_id, timeout_s=30)
        two = self.fleet.wait(two_id, timeout_s=30)
        self.assertEqual(one["status"], "dead_letter")
        self.assertEqual(one["attempt"], 1)
        self.assertRegex(one["reason"], r"^gave up after 1 attempt; ")
        self.assertEqual(two["status"], "dead_letter")
        self.assertEqual(two["attempt"], 2)
        self.assertRegex(two["reason"], r"^gave up after 2 attempts; ")
        self.assertEqual(len(self.dead_letters(two_id)[0]["history"]), 2)
        self.assertEqual(len(self.dead_letters(one_id)[0]["history"]), 1)
        self.assertNotRegex(self.fleet.log_text(offset),
                            job_line(one_id) + r"event=retry_scheduled")
        self.assert_retired(one_entry)
        self.assert_retired(two_entry)

        # Above the fleet's ceiling it is refused, like a limit: never silently lowered.
        self.interpreter(True)
        over = self.fleet.run("sh", "echo no\n", max_attempts=MAX_ATTEMPTS + 1)
        self.assertEqual(over["status"], "rejected")
        self.assertEqual(over["reason"], f"max_attempts {MAX_ATTEMPTS + 1} is above the "
                                         f"ceiling {MAX_ATTEMPTS}")

    # -- (2) a job that kills its worker every time is quarantined -----------------------

    def test_job_that_kills_its_worker_is_quarantined_after_poison_deliveries(self):
        marker = "4747.5"
        offset = self.fleet.log_size()
        before = self.stats()
        job_id, entry_id = self.fleet.enqueue("sh", f"sleep {marker}\necho done\n",
                                              limits={"wall_ms": 60000}, tenant="acme")
        kills, first_kill_at = 0, None
        deadline = time.monotonic() + 60
        while self.fleet.r.get("ccx:result:" + job_id) is None and time.monotonic() < deadline:
            sleeper, worker = self.fleet.process_running([b"sleep", marker.encode()])
            if not worker:
                time.sleep(0.05)
                continue
            # The job runs: its worker dies under it, as if the job had brought it down.
            os.kill(worker, signal.SIGKILL)
            kills += 1
            first_kill_at = first_kill_at or time.monotonic()
            while self.fleet.process_running([b"sleep", marker.encode()])[1] == worker:
                time.sleep(0.02)

        result = self.fleet.wait(job_id, timeout_s=5)
        quarantined_s = time.monotonic() - first_kill_at
        print(f"\n  poison: quarantined {quarantined_s:.2f} s after the first kill, "
              f"{kills} workers killed", flush=True)
        self.assertEqual(kills, POISON)
        self.assertEqual(len(re.findall(job_line(job_id) + r"event=job_started",
                                        self.fleet.log_text(offset))), POISON)
        self.assertEqual(result["status"], "dead_letter")
        self.assertEqual(result["attempt"], POISON)
        self.assertRegex(result["reason"], r"^quarantined as a poison job: 2 of its 2 attempts "
                                           r"lost their holder")
        self.assertIsNotNone(self.fleet.wait_log(
            job_line(job_id) + r"event=poison_quarantined .*attempts=2 holders_lost=2",
            offset, 2))

        [dead] = self.dead_letters(job_id)
        self.assertEqual(dead["kind"], b"poison")
        self.assertEqual(dead["tenant"], b"acme")
        self.assertEqual([h["attempt"] for h in dead["history"]], [1, 2])
        for item in dead["history"]:
            self.assertEqual(item["ended"], "holder_lost")
            self.assertEqual(item["reason"], "handed back: its worker died")
        self.assertIn("poison_quarantined",
                      [e["kind"] for e in self.fleet.events_for(job_id, "poison_quarantined")])
        after = self.stats()
        self.assertEqual(after.get("poison_quarantines", 0),
                         before.get("poison_quarantines", 0) + 1)
        self.assertGreaterEqual(after.get("leases_expired", 0),
                                before.get("leases_expired", 0) + 2)
        self.assert_retired(entry_id)

    # -- (4) the job's own statuses are final --------------------------------------------

    def test_user_statuses_are_never_retried(self):
        offset = self.fleet.log_size()
        before = self.stats()
        failed = self.fleet.run("sh", "echo no >&2\nexit 3\n")
        slow = self.fleet.run("sh", "sleep 5\n", limits={"wall_ms": 300})
        self.assertEqual(failed["status"], "error_exit")
        self.assertEqual(slow["status"], "timeout")
        for result in (failed, slow):
            self.assertEqual(result["attempt"], 1)
            self.assertEqual(self.dead_letters(result["id"]), [])
            self.assertNotRegex(self.fleet.log_text(offset),
                                job_line(result["id"]) + r"event=retry_scheduled")
        self.assertEqual(self.stats().get("retries", 0), before.get("retries", 0))

    def test_zz_nothing_is_left_waiting(self):
        self.fleet.assert_no_lease_left()


if __name__ == "__main__":
    unittest.main()
