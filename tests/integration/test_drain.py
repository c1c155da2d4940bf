"""Graceful drain across two hosts on one Redis: SIGTERM on fleet A while it runs a long
job; A's workers take nothing more, and when A's short shutdown grace runs out the job's
lease is handed back (not left to expire: lease_ms is 15 s here) and fleet B runs it again
at once, with attempt 2. Entries delivered to A's workers but never leased go back too.
A exits 0, and nothing is left behind."""

import os
import re
import signal
import socket
import time
import unittest

import msgpack

from fleet import Fleet, _proc_stat, descendants, is_intake, new_job_id, require_root

GRACE_S = 2
LEASE_MS = 15000


class DrainTest(unittest.TestCase):

    def setUp(self):
        require_root()
        self.a = Fleet(2, config={"shutdown_grace_s": GRACE_S, "lease_ms": LEASE_MS})
        self.a.start()
        self.b = None

    def tearDown(self):
        if self.b is not None:
            self.b.stop(check_host=False)
        leftovers = self.a.stop()
        if leftovers:
            raise AssertionError("left on the host after both fleets stopped:\n  "
                                 + "\n  ".join(leftovers))

    def start_b(self):
        self.b = Fleet(2, config={"lease_ms": LEASE_MS}, redis_of=self.a)
        self.b.start()

    def a_worker_pids(self):
        """A's workers: the supervisor's children but its intake."""
        return [pid for pid in descendants(self.a.supervisor.pid)
                if (_proc_stat(pid) or ("", "", 0))[2] == self.a.supervisor.pid
                and not is_intake(pid)]

    def test_sigterm_hands_a_long_job_to_another_fleet_at_grace_end(self):
        marker = "6161.5"
        job_id, entry_id = self.a.enqueue("sh", f"sleep {marker}\necho done\n",
                                          limits={"wall_ms": 60000})
        sleeper, worker = self.a.wait_process([b"sleep", marker.encode()])
        self.assertTrue(sleeper, "the job never started on fleet A")
        self.start_b()

        # A delivery to one of A's workers that it never leased: as if it was stopped
        # between its read and its claim.
        idle = [pid for pid in self.a_worker_pids() if pid != worker]
        self.assertEqual(len(idle), 1)
        orphan_id = new_job_id()
        orphan_entry = self.a.r.xadd("ccx:jobs", {"job": msgpack.packb(
            {"id": orphan_id, "language": "sh", "source": b"echo orphan\n"},
            use_bin_type=True)}).decode()
        consumer = f"{socket.gethostname()}:{idle[0]}"
        # B's idle workers may take it first; then there is no orphan to hand back.
        read = self.a.r.xreadgroup("ccx-workers", consumer, {"ccx:jobs": ">"}, count=1)
        orphan_delivered = bool(read) and read[0][1][0][0].decode() == orphan_entry

        stopped_at = time.monotonic()
        self.a.supervisor.send_signal(signal.SIGTERM)
        self.assertIsNotNone(self.a.wait_log(r"event=supervisor_stopping", 0, 5))
        self.assertIsNotNone(self.a.wait_log(r"event=shutdown_grace_expired", 0, GRACE_S + 5))
        grace_over = time.monotonic()
        self.assertIsNotNone(self.a.wait_log(
            r"event=lease_handed_back slot=\d+ entry_id=" + entry_id + r" .*reason=drained",
            0, 5), "the drained job's lease was not handed back")

        again, again_worker = self.b.wait_process([b"sleep", marker.encode()], timeout_s=10)
        self.assertTrue(again, "the job did not run again on fleet B")
        waited_s = time.monotonic() - grace_over
        print(f"\n  drain: the job ran again on fleet B {waited_s:.2f} s after A's grace "
              f"ended ({time.monotonic() - stopped_at:.2f} s after SIGTERM)", flush=True)
        self.assertLess(waited_s, 3)
        self.assertEqual(self.a.supervisor.wait(10), 0)
        self.a.supervisor = None  # exited 0, as checked: nothing left to stop
        lease = self.a.r.hgetall("ccx:lease:" + entry_id)
        self.assertEqual(lease[b"attempt"], b"2")
        self.assertEqual(int(self.a.r.hget("ccx:stats", "leases_expired") or 0), 0,
                         "a drained job must not count as a holder lost")

        if orphan_delivered:
            self.assertIsNotNone(self.a.wait_log(
                r"event=deliveries_handed_back consumer=" + re.escape(consumer)
                + r" entries=1 reason=drained", 0, 5))
        orphan = self.b.wait(orphan_id, timeout_s=10)
        self.assertEqual(orphan["status"], "ok")

        # The second run finishes on B.
        os.kill(again, signal.SIGKILL)
        result = self.b.wait(job_id, timeout_s=30)
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["attempt"], 2)
        self.assertEqual(result["stdout"], b"done\n")
        self.assertEqual(self.a.r.xlen("ccx:jobs"), 0)
        self.assertEqual(self.a.r.zcard("ccx:leases"), 0)

    def test_sigterm_lets_a_short_job_finish_and_takes_no_more(self):
        job_id = self.a.submit("sh", "sleep 1\necho finished\n")
        self.assertTrue(self.a.wait_log(r"event=job_started", 0, 10))
        self.a.supervisor.send_signal(signal.SIGTERM)
        # The supervisor passes SIGTERM on to its workers: give them a moment to see it.
        self.assertIsNotNone(self.a.wait_log(r"event=supervisor_stopping", 0, 5))
        time.sleep(0.2)
        later = self.a.submit("sh", "echo later\n")
        self.assertEqual(self.a.supervisor.wait(GRACE_S + 10), 0)
        self.a.supervisor = None
        result = self.a.wait(job_id, timeout_s=5)
        self.assertEqual(result["status"], "ok")
        self.assertIsNone(self.a.r.get("ccx:result:" + later), "a draining fleet took a job")
        # Whatever A's workers were delivered meanwhile went back: B runs it at once.
        self.start_b()
        self.assertEqual(self.b.wait(later, timeout_s=30)["status"], "ok")


if __name__ == "__main__":
    unittest.main()
