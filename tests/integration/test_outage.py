"""A Redis outage seen from the supervisor: it is reported once when it starts and once
when it ends, not once per renewal beat, however long it lasts."""

import re
import subprocess
import time

from fleet import FleetTestCase

LEASE_MS = 3000


class OutageTest(FleetTestCase):

    workers = 1
    fleet_config = {"lease_ms": LEASE_MS}

    def supervisor_lines(self, offset, event):
        return [line for line in self.fleet.log_text(offset).splitlines()
                if "comp=supervisor" in line and f"event={event} " in line + " "]

    def test_outage_is_logged_once_by_the_supervisor(self):
        marker = "7171.5"
        offset = self.fleet.log_size()
        job_id = self.fleet.submit("sh", f"sleep {marker}\n", limits={"wall_ms": 60000})
        sleeper, _ = self.fleet.wait_process([b"sleep", marker.encode()])
        self.assertTrue(sleeper, "the job never started")

        # Down for four renewal beats and more than a lease: the job is lost meanwhile.
        port = int(self.fleet.url.rsplit(":", 1)[1])
        self.fleet.redis_proc.terminate()
        self.fleet.redis_proc.wait(10)
        time.sleep(4 * LEASE_MS / 3000 + 1)
        self.fleet._start_redis(port)
        self.assertIsNotNone(self.fleet.wait_log(r"comp=supervisor .*event=redis_reconnected",
                                                 offset, 10), "the end was not logged")
        time.sleep(2 * LEASE_MS / 3000)  # more beats, now healthy

        failed = self.supervisor_lines(offset, "lease_renew_failed")
        events = re.findall(r"comp=supervisor .*?event=(\S+)", self.fleet.log_text(offset))
        print(f"\n  outage: the supervisor logged {events}", flush=True)
        self.assertEqual(len(self.supervisor_lines(offset, "redis_unreachable")), 1)
        self.assertEqual(len(self.supervisor_lines(offset, "redis_reconnected")), 1)
        self.assertEqual(failed, [])
        # The job's lease was revoked once, when it could have expired.
        self.assertEqual(len(self.supervisor_lines(offset, "lease_expired")), 1)
