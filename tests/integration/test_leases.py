"""Leases with fencing tokens, through a real fleet: a job whose worker or host dies runs
again elsewhere (attempt 2), a job whose lease is lost is killed and publishes nothing, a
stale token stores nothing, and an entry already answered is retired without running.

The fleet runs with lease_ms 3000, so the supervisor renews every second and a dead host's
leases expire after three."""

import os
import re
import signal
import time
import unittest

import msgpack

from fleet import FleetTestCase, _proc_stat, as_bytes, decode, new_job_id

LEASE_MS = 3000


def job_line(job_id):
    """A regex for a log line of job_id up to its event=: log_job quotes the id."""
    return r'job_id="?' + re.escape(job_id) + r'"? .*'


class LeaseTest(FleetTestCase):

    fleet_config = {"lease_ms": LEASE_MS}

    def sleeper(self, marker, seconds_after=0):
        """A sh job that runs `sleep <marker>` (the marker finds its process on the host),
        then `sleep <seconds_after>` and prints done."""
        return f"sleep {marker}\nsleep {seconds_after}\necho done\n"

    def wait_started(self, marker):
        sleeper, worker = self.fleet.wait_process([b"sleep", marker.encode()])
        self.assertTrue(sleeper and worker, f"the job (sleep {marker}) never started")
        return sleeper, worker

    def wait_gone(self, pid, timeout_s):
        deadline = time.monotonic() + timeout_s
        while _proc_stat(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        return _proc_stat(pid) is None

    def lease_of(self, entry_id):
        # history is msgpack, not text; the fields these tests read are.
        return {k.decode(): v.decode("utf-8", "replace")
                for k, v in self.fleet.r.hgetall("ccx:lease:" + entry_id).items()}

    def assert_retired(self, entry_id):
        """The entry, its lease and its pending record are all gone."""
        r = self.fleet.r
        self.assertEqual(r.xrange("ccx:jobs", entry_id, entry_id), [])
        self.assertIsNone(r.zscore("ccx:leases", entry_id))
        self.assertFalse(r.exists("ccx:lease:" + entry_id))
        pending = r.xpending_range("ccx:jobs", "ccx-workers", entry_id, entry_id, 1)
        self.assertEqual(pending, [])

    # -- a worker dies ---------------------------------------------------------------

    def test_killed_worker_job_is_handed_back_and_runs_again_at_once(self):
        marker = "4343.5"
        offset = self.fleet.log_size()
        job_id, entry_id = self.fleet.enqueue("sh", self.sleeper(marker, 1),
                                              limits={"wall_ms": 60000})
        sleeper, worker = self.wait_started(marker)
        first = self.lease_of(entry_id)
        self.assertEqual(first["attempt"], "1")

        killed_at = time.monotonic()
        os.kill(worker, signal.SIGKILL)
        match = self.fleet.wait_log(r"event=lease_handed_back slot=\d+ entry_id=" + entry_id,
                                    offset, timeout_s=10)
        self.assertIsNotNone(match, "the dead worker's lease was not handed back")

        # The second run starts in seconds, not minutes: it is the same sleep again.
        again, again_worker = self.wait_started(marker)
        waited_s = time.monotonic() - killed_at
        print(f"\n  killed worker: the job ran again {waited_s:.2f} s after the kill",
              flush=True)
        self.assertLess(waited_s, 10)
        self.assertNotEqual(again_worker, worker)
        second = self.lease_of(entry_id)
        self.assertEqual(second["attempt"], "2")
        self.assertGreater(int(second["token"]), int(first["token"]))
        self.assertIsNone(self.fleet.r.get("ccx:result:" + job_id))

        # Let the second run end quickly: its long sleep is killed from the host, and the
        # script goes on to print done.
        os.kill(again, signal.SIGKILL)
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["attempt"], 2)
        self.assertEqual(as_bytes(result["stdout"]), b"done\n")
        self.assertEqual(self.fleet.r.llen("ccx:reply:" + job_id), 0)  # popped once by wait
        self.assert_retired(entry_id)
        self.assertIsNotNone(self.fleet.wait_log(
            job_line(job_id) + r"event=lease_reclaimed entry_id=\S+ kind=expired "
            r"attempt=2", offset, 5))

    # -- a whole host dies ---------------------------------------------------------------

    def test_killed_supervisor_job_is_reclaimed_after_lease_expiry(self):
        marker = "4444.5"
        offset = self.fleet.log_size()
        # Both runs sleep marker: the first is killed with its host, the second times out.
        job_id, entry_id = self.fleet.enqueue("sh", f"sleep {marker}\necho done\n",
                                              limits={"wall_ms": 4000})
        sleeper, worker = self.wait_started(marker)

        killed_at = time.monotonic()
        self.fleet.kill_supervisor()
        self.assertTrue(self.wait_gone(sleeper, 5), "the job outlived its host's supervisor")
        self.assertTrue(self.wait_gone(worker, 5), "a worker outlived its supervisor")
        # Nobody renews now; the lease still names the dead worker until it expires.
        self.assertEqual(self.lease_of(entry_id)["attempt"], "1")

        self.fleet.start_supervisor()
        again, _ = self.wait_started(marker)
        waited_s = time.monotonic() - killed_at
        print(f"\n  killed host: the job ran again {waited_s:.2f} s after the kill "
              f"(lease_ms {LEASE_MS})", flush=True)
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["attempt"], 2)
        self.assertEqual(result["status"], "timeout")
        self.assertGreaterEqual(waited_s, 1.0)  # not before the lease could expire
        self.assertLess(waited_s, LEASE_MS / 1000 + 10)
        self.assert_retired(entry_id)
        self.assertIsNotNone(self.fleet.wait_log(
            job_line(job_id) + r"event=lease_reclaimed entry_id=\S+ kind=expired "
            r"attempt=2", offset, 5))

    # -- a lease lost while the job runs -------------------------------------------------

    def test_lost_lease_kills_the_sandbox_and_only_the_new_holder_answers(self):
        marker = "4545.5"
        offset = self.fleet.log_size()
        job_id, entry_id = self.fleet.enqueue("sh", f"sleep {marker}\necho done\n",
                                              limits={"wall_ms": 5000})
        sleeper, worker = self.wait_started(marker)

        # Another worker took the job over, as far as Redis is concerned.
        self.fleet.r.hset("ccx:lease:" + entry_id, "token", "999999999")
        changed_at = time.monotonic()
        self.assertTrue(self.wait_gone(sleeper, LEASE_MS / 1000),
                        "the job went on after its lease was lost")
        killed_s = time.monotonic() - changed_at
        print(f"\n  lost lease: the job was killed {killed_s:.2f} s after its token changed",
              flush=True)
        match = self.fleet.wait_log(job_line(job_id) + r"event=lease_lost .*during=run",
                                    offset, 5)
        self.assertIsNotNone(match, "no event=lease_lost in the log")
        self.assertIsNone(self.fleet.r.get("ccx:result:" + job_id))

        # The lease runs out unrenewed, a worker reclaims it and runs the job again; that
        # run ends at its wall limit, and its result is the only one.
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["attempt"], 2)
        self.assertEqual(result["status"], "timeout")
        time.sleep(0.5)
        self.assertEqual(self.fleet.r.llen("ccx:reply:" + job_id), 0)
        self.assertEqual(decode(self.fleet.r.get("ccx:result:" + job_id))["attempt"], 2)
        self.assert_retired(entry_id)

        # The kill is visible to operators: counted, and an event names the killed run.
        zombies = [e for e in self.fleet.events_for(job_id, kind="zombie_killed")
                   if e["kind"] == "zombie_killed"]
        self.assertEqual(len(zombies), 1, zombies)
        self.assertIn(f"entry_id={entry_id} token=", zombies[0]["detail"])
        self.assertGreaterEqual(int(self.fleet.r.hget("ccx:stats", "zombies_killed") or 0), 1)

    def test_a_lease_key_of_the_wrong_type_stops_neither_the_job_nor_the_fleet(self):
        marker = "4747.5"
        job_id, entry_id = self.fleet.enqueue("sh", f"sleep {marker}\necho done\n",
                                              limits={"wall_ms": 5000})
        sleeper, _ = self.wait_started(marker)

        # Written by hand or by something else: every script that reads it would fail.
        self.fleet.r.delete("ccx:lease:" + entry_id)
        self.fleet.r.set("ccx:lease:" + entry_id, "not a hash")

        # Other jobs keep flowing meanwhile, on every worker.
        started = time.monotonic()
        for _ in range(3):
            self.assertEqual(self.fleet.run("sh", "echo ok\n")["status"], "ok")
        self.assertLess(time.monotonic() - started, LEASE_MS / 1000 * 3)

        # The broken lease counts as lost: the run is stopped, and the job, once its lease
        # runs out, runs again and gets its one final result.
        self.assertTrue(self.wait_gone(sleeper, LEASE_MS / 1000 + 3))
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["status"], "timeout")
        self.assert_retired(entry_id)

    def test_renewal_failing_past_lease_ms_kills_the_job(self):
        marker = "4646.5"
        offset = self.fleet.log_size()
        job_id, entry_id = self.fleet.enqueue("sh", f"sleep {marker}\necho done\n",
                                              limits={"wall_ms": 20000})
        sleeper, worker = self.wait_started(marker)

        # The renewal script fails (ccx:leases of the wrong type) as if Redis were out of
        # reach of this host: after lease_ms the supervisor must kill the job itself.
        score = self.fleet.r.zscore("ccx:leases", entry_id)
        self.assertIsNotNone(score)
        self.fleet.r.rename("ccx:leases", "ccx:leases-aside")
        self.fleet.r.set("ccx:leases", "not a sorted set")
        broken_at = time.monotonic()
        try:
            self.assertTrue(self.wait_gone(sleeper, LEASE_MS / 1000 + 3),
                            "the job outlived a lease that could not be renewed")
            killed_s = time.monotonic() - broken_at
        finally:
            self.fleet.r.delete("ccx:leases")
            self.fleet.r.rename("ccx:leases-aside", "ccx:leases")
        print(f"\n  renewal failing: the job was killed {killed_s:.2f} s after renewals "
              f"began to fail (lease_ms {LEASE_MS})", flush=True)
        self.assertLess(killed_s, LEASE_MS / 1000 + 1)
        self.assertIsNotNone(self.fleet.wait_log(r"event=lease_renew_failed", offset, 1))
        self.assertIsNotNone(self.fleet.wait_log(
            r"event=lease_expired slot=\d+ entry_id=" + entry_id, offset, 1))
        self.assertIsNotNone(self.fleet.wait_log(
            job_line(job_id) + r"event=lease_lost", offset, 5))

        # The lease (its expiry long past) is reclaimed and the job runs again.
        again, _ = self.wait_started(marker)
        os.kill(again, signal.SIGKILL)
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["attempt"], 2)
        self.assert_retired(entry_id)

    # -- fencing at the finish -----------------------------------------------------------

    def test_stale_token_at_finish_stores_nothing(self):
        marker = "0.47"
        offset = self.fleet.log_size()
        job_id, entry_id = self.fleet.enqueue("sh", f"sleep {marker}\nsleep 1\necho first\n")
        sleeper, worker = self.wait_started(marker)

        # With the supervisor stopped, nobody renews and nobody revokes: the worker finds
        # out only when its result script sees the token changed.
        self.fleet.supervisor.send_signal(signal.SIGSTOP)
        try:
            self.fleet.r.hset("ccx:lease:" + entry_id, "token", "999999998")
            match = self.fleet.wait_log(
                job_line(job_id) + r"event=lease_lost_at_finish .*action=result_dropped",
                offset, 10)
        finally:
            self.fleet.supervisor.send_signal(signal.SIGCONT)
        self.assertIsNotNone(match, "no event=lease_lost_at_finish")
        self.assertIsNone(self.fleet.r.get("ccx:result:" + job_id))

        # The entry is still there for the next holder, who answers it.
        result = self.fleet.wait(job_id, timeout_s=30)
        self.assertEqual(result["attempt"], 2)
        self.assertEqual(as_bytes(result["stdout"]), b"first\n")
        self.assert_retired(entry_id)

    # -- an entry already answered -----------------------------------------------------

    def test_entry_whose_result_exists_is_retired_without_running(self):
        offset = self.fleet.log_size()
        job_id = new_job_id()
        stored = msgpack.packb({"id": job_id, "status": "ok", "attempt": 1,
                                "stdout": b"the first answer\n"}, use_bin_type=True)
        self.fleet.r.set("ccx:result:" + job_id, stored, ex=600)

        _, entry_id = self.fleet.enqueue("sh", "echo second run\n", job_id=job_id)
        match = self.fleet.wait_log(job_line(job_id) + r"event=job_already_answered",
                                    offset, 10)
        self.assertIsNotNone(match, "the redelivered entry was not retired")
        self.assertEqual(self.fleet.r.get("ccx:result:" + job_id), stored)
        self.assertEqual(self.fleet.r.llen("ccx:reply:" + job_id), 0)
        self.assertNotRegex(self.fleet.log_text(offset),
                            job_line(job_id) + r"event=job_started")
        self.assert_retired(entry_id)

    # -- nothing left behind -------------------------------------------------------------

    def test_zz_no_lease_is_left_after_the_jobs(self):
        result = self.fleet.run("sh", "echo ok\n")
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["attempt"], 1)
        self.fleet.assert_no_lease_left()


class HungWorkerTest(FleetTestCase):
    """A worker that hangs holding a lease: short limits, so that the most a worker may hold
    one (the longest run and compile step plus two leases) is 5 s here."""

    fleet_config = {
        "lease_ms": 1000,
        # The shipped policy's example tenant may ask for more than these ceilings.
        "policy": None,
        "limits": {"wall_ms": {"default": 2000, "max": 2000},
                   "cpu_ms": {"default": 2000, "max": 2000}},
        "languages": {"c": {"compile": {"limits": {"wall_ms": 1000, "cpu_ms": 1000}}}},
    }
    HOLD_MAX_S = 5

    def test_a_hung_worker_is_killed_and_its_job_runs_elsewhere(self):
        offset = self.fleet.log_size()
        job_id, entry_id = self.fleet.enqueue("sh", "sleep 0.4848\necho done\n")
        sleeper, worker = self.fleet.wait_process([b"sleep", b"0.4848"])
        self.assertTrue(sleeper and worker, "the job never started")
        os.kill(worker, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            result = self.fleet.wait(job_id, timeout_s=self.HOLD_MAX_S + 15)
        finally:
            try:
                os.kill(worker, signal.SIGCONT)
            except ProcessLookupError:
                pass
        waited_s = time.monotonic() - stopped_at
        print(f"\n  hung worker: its job ran again {waited_s:.2f} s after the worker stopped",
              flush=True)
        self.assertEqual(result["status"], "ok", result)
        self.assertEqual(result["attempt"], 2)
        self.assertGreaterEqual(waited_s, self.HOLD_MAX_S - 1)
        self.assertIsNotNone(self.fleet.wait_log(
            r"event=worker_hung slot=\d+ entry_id=" + entry_id, offset, 1))
        self.assertTrue(self.wait_gone(worker, 5), "the hung worker was not killed")
        self.assert_retired(entry_id)

    wait_gone = LeaseTest.wait_gone
    assert_retired = LeaseTest.assert_retired


if __name__ == "__main__":
    unittest.main()
