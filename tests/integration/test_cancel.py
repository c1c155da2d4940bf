"""Cancellation and deadlines through a real fleet: a queued job cancelled with `ccx cancel`
never runs and is answered cancelled; a running one is killed within a renewal beat and
answered cancelled with the time it used; a finished one keeps its result; a job whose
deadline passed before it started is answered expired without running.

One worker, so that a sleeping job holds the queue; lease_ms 3000, so the supervisor's
renewal beat (which carries cancels to running jobs) comes every second."""

import os
import re
import signal
import subprocess
import sys
import time

from fleet import SOURCE_DIR, FleetTestCase, as_bytes, binary

sys.path.insert(0, os.path.join(SOURCE_DIR, "clients", "python"))

import ccx_client  # noqa: E402  (found through the path above)

LEASE_MS = 3000


def job_line(job_id):
    return r'job_id="?' + re.escape(job_id) + r'"? .*'


class CancelTest(FleetTestCase):

    workers = 1
    fleet_config = {"lease_ms": LEASE_MS}

    def cancel(self, job_id):
        return subprocess.run([binary("ccx"), "cancel", job_id, "--redis", self.fleet.url],
                              capture_output=True, timeout=30, stdin=subprocess.DEVNULL)

    def start_blocker(self, marker):
        """A job that holds the only worker until its `sleep marker` is killed."""
        job_id = self.fleet.submit("sh", f"sleep {marker}\necho unblocked\n",
                                   limits={"wall_ms": 60000})
        sleeper, worker = self.fleet.wait_process([b"sleep", marker.encode()])
        self.assertTrue(sleeper, "the blocking job never started")
        return job_id, sleeper

    def assert_retired(self, entry_id):
        r = self.fleet.r
        self.assertEqual(r.xrange("ccx:jobs", entry_id, entry_id), [])
        self.assertIsNone(r.zscore("ccx:leases", entry_id))
        self.assertFalse(r.exists("ccx:lease:" + entry_id))

    def test_queued_job_cancelled_never_runs(self):
        offset = self.fleet.log_size()
        blocker, sleeper = self.start_blocker("5151.5")
        job_id, entry_id = self.fleet.enqueue("sh", "echo should-not-run\n")

        done = self.cancel(job_id)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(b"pending", done.stdout)
        self.assertTrue(self.fleet.r.exists("ccx:cancel:" + job_id))

        os.kill(sleeper, signal.SIGKILL)
        self.assertEqual(self.fleet.wait(blocker, timeout_s=30)["status"], "ok")
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["status"], "cancelled")
        self.assertEqual(result["reason"], "cancelled by its client before it started")
        self.assertEqual(as_bytes(result["stdout"]), b"")
        self.assertEqual(result["attempt"], 1)
        self.assert_retired(entry_id)
        log = self.fleet.log_text(offset)
        self.assertIsNone(re.search(job_line(job_id) + "event=job_started", log))
        self.assertIsNotNone(re.search(job_line(job_id) + "event=job_cancelled .*during=claim",
                                       log))

        # A second cancel finds it answered and changes nothing.
        again = self.cancel(job_id)
        self.assertEqual(again.returncode, 4, again.stderr)

    def test_running_job_is_stopped_and_answered_cancelled(self):
        offset = self.fleet.log_size()
        marker = "5252.5"
        job_id, entry_id = self.fleet.enqueue("sh", f"sleep {marker}\necho done\n",
                                              limits={"wall_ms": 60000})
        sleeper, _ = self.fleet.wait_process([b"sleep", marker.encode()])
        self.assertTrue(sleeper, "the job never started")
        time.sleep(0.5)  # some wall time to report

        asked_at = time.monotonic()
        done = self.cancel(job_id)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(b"running", done.stdout)
        result = self.fleet.wait(job_id, timeout_s=30)
        took_s = time.monotonic() - asked_at
        print(f"\n  cancel of a running job: answered {took_s:.2f} s after ccx cancel",
              flush=True)

        self.assertEqual(result["status"], "cancelled")
        self.assertEqual(result["reason"], "cancelled by its client while it ran")
        self.assertGreaterEqual(result["wall_ms"], 500)
        self.assertIn("cpu_ms", result)
        self.assertEqual(result["attempt"], 1)
        # Within a renewal beat (lease_ms / 3) and the kill, with some slack.
        self.assertLess(took_s, LEASE_MS / 3000 + 2)
        self.assertIsNone(self.fleet.process_running([b"sleep", marker.encode()])[0])
        self.assert_retired(entry_id)
        self.assertIsNotNone(self.fleet.wait_log(
            job_line(job_id) + "event=job_cancelled .*during=run", offset, 5))

        # The mark goes with the answer: once the result has lived out its TTL (cut short
        # here), a new job under the same id runs.
        self.assertEqual(self.fleet.r.exists("ccx:cancel:" + job_id), 0)
        self.fleet.r.delete("ccx:result:" + job_id, "ccx:reply:" + job_id)
        self.assertEqual(self.fleet.run("sh", "echo again\n", job_id=job_id)["status"], "ok")

    def test_finished_job_keeps_its_result(self):
        job_id = self.fleet.submit("sh", "echo finished\n")
        first = self.fleet.wait(job_id, timeout_s=60)
        self.assertEqual(first["status"], "ok")

        done = self.cancel(job_id)
        self.assertEqual(done.returncode, 4, done.stderr)
        self.assertIn(b"finished already", done.stderr)
        self.assertFalse(self.fleet.r.exists("ccx:cancel:" + job_id))
        stored = ccx_client.decode(self.fleet.r.get("ccx:result:" + job_id))
        self.assertEqual(stored["status"], "ok")

    def test_unknown_job_exits_four(self):
        done = self.cancel("no-such-job-here")
        self.assertEqual(done.returncode, 4, done.stderr)
        self.assertFalse(self.fleet.r.exists("ccx:cancel:no-such-job-here"))

    def test_cancel_help_documents_exit_codes(self):
        done = subprocess.run([binary("ccx"), "cancel", "--help"], capture_output=True)
        self.assertEqual(done.returncode, 0)
        self.assertIn(b"Exit status: 0", done.stdout)
        self.assertIn(b"4 when no such job", done.stdout)

    def test_python_client_cancels_a_running_job(self):
        marker = "5353.5"
        job_id = ccx_client.submit(self.fleet.r, "sh", f"sleep {marker}\n",
                                   limits={"wall_ms": 60000})
        sleeper, _ = self.fleet.wait_process([b"sleep", marker.encode()])
        self.assertTrue(sleeper, "the job never started")
        self.assertEqual(ccx_client.cancel(self.fleet.r, job_id), "running")
        result = ccx_client.wait(self.fleet.r, job_id, 30)
        self.assertEqual(result["status"], "cancelled")
        self.assertEqual(ccx_client.cancel(self.fleet.r, job_id), "finished")
        self.assertEqual(ccx_client.cancel(self.fleet.r, "never-sent"), "unknown")

    # -- deadlines ---------------------------------------------------------------------

    def test_deadline_in_the_past_expires_without_running(self):
        offset = self.fleet.log_size()
        past = ccx_client.deadline_in(self.fleet.r, -1)
        job_id = ccx_client.submit(self.fleet.r, "sh", "echo late\n", deadline=past)
        result = ccx_client.wait(self.fleet.r, job_id, 30)
        self.assertEqual(result["status"], "expired")
        self.assertEqual(result["reason"], "its deadline passed before it started")
        self.assertEqual(result["stdout"], b"")
        self.assertIsNone(re.search(job_line(job_id) + "event=job_started",
                                    self.fleet.log_text(offset)))

    def test_deadline_passing_while_queued_expires(self):
        blocker, sleeper = self.start_blocker("5454.5")
        soon = ccx_client.deadline_in(self.fleet.r, 1)
        job_id = ccx_client.submit(self.fleet.r, "sh", "echo late\n", deadline=soon)
        time.sleep(1.5)
        os.kill(sleeper, signal.SIGKILL)
        self.assertEqual(ccx_client.wait(self.fleet.r, blocker, 30)["status"], "ok")
        self.assertEqual(ccx_client.wait(self.fleet.r, job_id, 30)["status"], "expired")

    def test_deadline_ahead_runs(self):
        later = ccx_client.deadline_in(self.fleet.r, 600)
        job_id = ccx_client.submit(self.fleet.r, "sh", "echo in-time\n", deadline=later)
        result = ccx_client.wait(self.fleet.r, job_id, 60)
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["stdout"], b"in-time\n")

    def test_bad_deadline_is_rejected(self):
        job_id = self.fleet.submit("sh", "echo x\n", deadline="tomorrow")
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["status"], "rejected")
        self.assertIn("deadline must be a positive integer", result["reason"])
