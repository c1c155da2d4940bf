"""The live state a supervisor writes to Redis (host and workers hashes, ccx:hosts, the
finished-job counters and histograms), its Prometheus endpoint, and `ccx top` reading it,
through a real fleet of two workers with --metrics-listen and a beat of 500 ms."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import msgpack

from fleet import Fleet, FleetTestCase, binary, free_port, require_root

BEAT_MS = 500
BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
              600000]
BUCKET_FIELDS = [f"le_{b}" for b in BUCKETS_MS] + ["le_inf"]


def text_hash(r, key):
    return {k.decode(): v.decode() for k, v in r.hgetall(key).items()}


def int_hash(r, key):
    return {k: int(v) for k, v in text_hash(r, key).items()}


def parse_metrics(text):
    """{(name, frozenset of label pairs): value} of a Prometheus text page."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r'([a-z_]+)(?:\{(.*)\})? (\S+)', line)
        if not match:
            raise AssertionError(f"not a sample line: {line!r}")
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


class LiveStateTest(FleetTestCase):

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.port = free_port()
        cls.fleet = Fleet(2)
        cls.fleet.supervisor_args = ["--metrics-listen", f"127.0.0.1:{cls.port}",
                                     "--beat-ms", str(BEAT_MS)]
        cls.fleet.start()
        cls.host = socket.gethostname()

    def scrape(self, path="/metrics"):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as reply:
            return reply.headers.get("Content-Type"), reply.read().decode()

    def wait_for(self, check, timeout_s=5, what="the condition"):
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value or time.monotonic() > deadline:
                self.assertTrue(value, f"{what} not met within {timeout_s} s")
                return value
            time.sleep(0.05)

    def redis_ms(self):
        seconds, micros = self.fleet.r.time()
        return seconds * 1000 + micros // 1000

    def top(self, *args, columns="80"):
        env = dict(os.environ, COLUMNS=columns)
        done = subprocess.run([binary("ccx"), "top", "--once", "--interval", "0.5", "--redis",
                               self.fleet.url, *args], capture_output=True, text=True,
                              env=env, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    # -- the host -----------------------------------------------------------------------

    def test_host_hash_says_what_the_host_runs_and_expires(self):
        r = self.fleet.r
        key = "ccx:host:" + self.host
        info = self.wait_for(lambda: text_hash(r, key), what="ccx:host:<host>")
        self.assertEqual(info["version"], "0.1.0")
        self.assertEqual(int(info["pid"]), self.fleet.supervisor.pid)
        self.assertEqual(info["workers"], "2")
        self.assertIn(info["cgroup"], ("v1", "v2"))
        self.assertIn("user", info["namespaces"].split(","))
        self.assertIn("pid", info["namespaces"].split(","))
        self.assertEqual(info["seccomp"], "user_notif")
        self.assertTrue(info["policy_version"])
        float(info["load1"])
        self.assertLessEqual(int(info["started_at_ms"]), int(info["beat_at_ms"]))
        ttl = r.pttl(key)
        self.assertTrue(0 < ttl <= 3 * BEAT_MS, ttl)
        self.assertTrue(0 < r.pttl("ccx:workers:" + self.host) <= 3 * BEAT_MS)

    def test_host_is_in_ccx_hosts_with_a_fresh_score(self):
        self.wait_for(lambda: self.fleet.r.zscore("ccx:hosts", self.host) is not None)
        time.sleep(2 * BEAT_MS / 1000)
        seen = self.fleet.r.zscore("ccx:hosts", self.host)
        self.assertLess(abs(self.redis_ms() - seen), 2 * BEAT_MS + 200)

    # -- workers ------------------------------------------------------------------------

    def workers(self):
        return {int(k): json.loads(v) for k, v in
                text_hash(self.fleet.r, "ccx:workers:" + self.host).items()}

    def test_workers_hash_shows_the_running_job_then_idle(self):
        self.wait_for(lambda: [w["state"] for w in self.workers().values()] == ["idle"] * 2,
                      timeout_s=10, what="two idle workers")
        job_id = self.fleet.submit("sh", b"sleep 2\n", tenant="acme")

        def running():
            return [w for w in self.workers().values() if w["job_id"] == job_id]
        worker = self.wait_for(running, what="the job in ccx:workers")[0]
        self.assertEqual(worker["state"], "running")
        self.assertEqual(worker["tenant"], "acme")
        self.assertTrue(worker["pid"] > 0)
        self.assertLessEqual(worker["since_ms"], self.redis_ms() + 1000)

        top = self.top()
        self.assertIn(job_id[:30], top)
        self.assertRegex(top, r"running .* acme")

        self.assertEqual(self.fleet.wait(job_id)["status"], "ok")
        self.wait_for(lambda: not running(), what="the job gone from ccx:workers")
        self.assertEqual({w["state"] for w in self.workers().values()}, {"idle"})

    # -- counters -----------------------------------------------------------------------

    def test_counters_and_histograms_count_each_finished_job_once(self):
        r = self.fleet.r
        tenant = "count-" + os.urandom(3).hex()
        before = int_hash(r, "ccx:finished")
        run_before = int_hash(r, "ccx:hist:run")
        ids = [self.fleet.submit("sh", b"echo hi\n", tenant=tenant) for _ in range(3)]
        ids.append(self.fleet.submit("sh", b"sleep 0.3; exit 3\n", tenant=tenant))
        statuses = sorted(self.fleet.wait(i)["status"] for i in ids)
        self.assertEqual(statuses, ["error_exit", "ok", "ok", "ok"])

        key = "ccx:finished:tenant:" + tenant
        self.wait_for(lambda: sum(int_hash(r, key).values()) == 4, what="4 in " + key)
        time.sleep(3 * BEAT_MS / 1000)  # nothing more comes: each job counted once
        self.assertEqual(int_hash(r, key), {"ok": 3, "error_exit": 1})
        after = int_hash(r, "ccx:finished")
        self.assertEqual(after.get("ok", 0) - before.get("ok", 0), 3)
        self.assertEqual(after.get("error_exit", 0) - before.get("error_exit", 0), 1)
        self.assertIsNotNone(r.zscore("ccx:finished:tenants", tenant))

        for name in ("ccx:hist:run:tenant:" + tenant, "ccx:hist:queue_wait:tenant:" + tenant):
            hist = int_hash(r, name)
            self.assertEqual(hist["count"], 4, name)
            self.assertEqual(sum(hist.get(f, 0) for f in BUCKET_FIELDS), 4, name)
            self.assertLessEqual(set(hist), set(BUCKET_FIELDS) | {"sum_ms", "count"})
        run = int_hash(r, "ccx:hist:run:tenant:" + tenant)
        # The exit 3 job slept 300 ms: its bucket is above 250.
        self.assertGreaterEqual(run["sum_ms"], 300)
        self.assertGreaterEqual(sum(run.get(f"le_{b}", 0) for b in BUCKETS_MS if b > 250)
                                + run.get("le_inf", 0), 1)
        run_after = int_hash(r, "ccx:hist:run")
        self.assertEqual(run_after["count"] - run_before.get("count", 0), 4)

    def test_jobs_the_intake_answers_are_counted_once(self):
        r = self.fleet.r
        tenant = "refused-" + os.urandom(3).hex()
        ids = [self.fleet.submit("cobol", b"DISPLAY 'HI'.\n", tenant=tenant) for _ in range(2)]
        self.assertEqual([self.fleet.wait(i)["status"] for i in ids], ["rejected"] * 2)

        key = "ccx:finished:tenant:" + tenant
        self.wait_for(lambda: int_hash(r, key).get("rejected", 0) == 2, what="2 in " + key)
        time.sleep(3 * BEAT_MS / 1000)  # no supervisor counts them a second time
        self.assertEqual(int_hash(r, key), {"rejected": 2})

    def test_queue_wait_counts_the_time_a_job_waited_for_a_worker(self):
        r = self.fleet.r
        tenant = "wait-" + os.urandom(3).hex()
        # Two workers, four jobs of a second: the last two wait about a second each.
        ids = [self.fleet.submit("sh", b"sleep 1\n", tenant=tenant) for _ in range(4)]
        # Meanwhile ccx top shows the tenant's queued and running jobs (ccx:tenant:<t>).
        frame = self.top()
        self.assertRegex(frame, re.escape(tenant) + r" +\d+ +\d+ +\d+ +[0-4] +[0-2] ")
        for i in ids:
            self.assertEqual(self.fleet.wait(i)["status"], "ok")
        key = "ccx:hist:queue_wait:tenant:" + tenant
        hist = self.wait_for(lambda: int_hash(r, key).get("count") == 4 and int_hash(r, key),
                             what="4 queue waits")
        self.assertGreaterEqual(hist["sum_ms"], 1500)
        self.assertLess(hist["sum_ms"], 4 * 5000)
        waited = sum(hist.get(f"le_{b}", 0) for b in BUCKETS_MS if b >= 1000)
        self.assertGreaterEqual(waited, 2, hist)

    # -- metrics ------------------------------------------------------------------------

    def test_metrics_match_the_jobs_run_and_pass_promtool(self):
        self.fleet.run("sh", b"echo metrics\n")
        ok_total = self.wait_for(lambda: int_hash(self.fleet.r, "ccx:finished"),
                                 what="ccx:finished").get("ok", 0)
        # This fleet is the only host: its totals are the fleet's, once a beat has passed.
        time.sleep(2 * BEAT_MS / 1000)
        finished = int_hash(self.fleet.r, "ccx:finished")
        self.assertGreaterEqual(finished["ok"], ok_total)

        content_type, text = self.scrape()
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        samples = parse_metrics(text)

        def value(name, **labels):
            return samples[(name, frozenset(labels.items()))]
        # The host counts what its workers ran; ccx:finished also has what the intake
        # answered itself (rejected: another test sends such jobs).
        for status, count in finished.items():
            if status != "rejected":
                self.assertEqual(value("ccx_jobs_finished_total", status=status), count,
                                 status)
        self.assertEqual(value("ccx_build_info", version="0.1.0"), 1)
        self.assertEqual(sum(value("ccx_workers", state=s)
                             for s in ("starting", "idle", "running", "stopping")), 2)
        self.assertEqual(value("ccx_worker_restarts_total"), 0)
        self.assertEqual(value("ccx_heartbeat_failures_total"), 0)
        self.assertIn(("ccx_leases_held", frozenset()), samples)
        for name in ("ccx_job_run_seconds", "ccx_job_queue_wait_seconds"):
            count = value(name + "_count")
            self.assertEqual(count, sum(n for status, n in finished.items()
                                        if status != "rejected"))
            self.assertEqual(value(name + "_bucket", le="+Inf"), count)
            cumulative = [value(name + "_bucket", le=f"{b / 1000:g}") for b in BUCKETS_MS]
            self.assertEqual(cumulative, sorted(cumulative), name)
            hist = int_hash(self.fleet.r, "ccx:hist:" + name[8:-8])
            self.assertAlmostEqual(value(name + "_sum"), hist["sum_ms"] / 1000, places=3)

        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool missing (Debian's prometheus package; scripts/deps)")
        with tempfile.NamedTemporaryFile("w", suffix=".prom") as page:
            page.write(text)
            page.flush()
            with open(page.name) as stdin:
                check = subprocess.run([promtool, "check", "metrics"], stdin=stdin,
                                       capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, "")

    def test_metrics_answers_only_get_of_metrics(self):
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.scrape("/")
        self.assertEqual(caught.exception.code, 404)
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/metrics", data=b"x",
                                         method="POST")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        self.assertEqual(caught.exception.code, 405)

    def test_a_bad_or_busy_metrics_address_stops_the_start(self):
        def start(address):
            return subprocess.run([binary("ccx-supervisor"), "--redis", self.fleet.url,
                                   "--workers", "1", "--config", self.fleet.config_path,
                                   "--metrics-listen", address], capture_output=True,
                                  text=True, timeout=30)
        bad = start("localhost:9464")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("--metrics-listen localhost:9464: Invalid argument", bad.stderr)
        busy = start(f"127.0.0.1:{self.port}")
        self.assertEqual(busy.returncode, 1, busy.stderr)
        self.assertIn(f"--metrics-listen 127.0.0.1:{self.port}:", busy.stderr)
        self.scrape()  # the fleet's own endpoint is unharmed

    # -- ccx top ------------------------------------------------------------------------

    def test_top_once_fits_80_columns_and_uses_no_escape_codes(self):
        tenant = "top-" + os.urandom(3).hex()
        self.fleet.run("sh", b"echo top\n", tenant=tenant)
        self.wait_for(lambda: self.fleet.r.zscore("ccx:finished:tenants", tenant),
                      what="the tenant in ccx:finished:tenants")
        frame = self.top()
        self.assertNotIn("\033", frame)
        for line in frame.splitlines():
            self.assertLessEqual(len(line), 80, line)
        self.assertIn("QUEUE", frame)
        self.assertRegex(frame, r"RATE +[0-9.]+ jobs/s")
        self.assertRegex(frame, r"run p50 \d")
        self.assertIn(tenant, frame)
        self.assertIn(self.host[:16], frame)
        self.assertIn("BREAKERS", frame)
        narrow = self.top(columns="50")
        self.assertTrue(all(len(line) <= 50 for line in narrow.splitlines()), narrow)

    def test_top_reports_open_breakers_and_newest_events(self):
        r = self.fleet.r
        r.sadd("ccx:breaker:tenants", "tripped")
        r.hset("ccx:breaker:tenant:tripped", mapping={"state": "OPEN",
                                                      "until": self.redis_ms() + 60000})
        r.xadd("ccx:events", {"event": msgpack.packb({
            "kind": "syscall_refused", "ts": self.redis_ms(), "tenant": "evt-tenant",
            "job_id": "evt-job-1", "host": "evt-host"})})
        try:
            frame = self.top()
        finally:
            r.srem("ccx:breaker:tenants", "tripped")
            r.delete("ccx:breaker:tenant:tripped")
        self.assertRegex(frame, r"BREAKER tenant +tripped +OPEN +\d")
        events = frame[frame.index("EVENTS"):]
        self.assertRegex(events.splitlines()[1],
                         r"\d\d:\d\d:\d\d syscall_refused +evt-tenant +evt-host +evt-job-1")

    def test_top_without_redis_fails_with_status_3(self):
        done = subprocess.run([binary("ccx"), "top", "--once", "--redis",
                               f"redis://127.0.0.1:{free_port()}"], capture_output=True,
                              text=True, timeout=30)
        self.assertEqual(done.returncode, 3)
        self.assertIn("cannot reach Redis", done.stderr)


class LeaveTest(unittest.TestCase):
    """A supervisor that stops cleanly takes its host out of the live state at once."""

    def test_clean_stop_removes_the_host(self):
        require_root()
        fleet = Fleet(1)
        fleet.supervisor_args = ["--beat-ms", "60000"]
        fleet.start()
        host = socket.gethostname()
        try:
            deadline = time.monotonic() + 10
            while not fleet.r.exists("ccx:host:" + host) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(fleet.r.exists("ccx:host:" + host))
            fleet.run("sh", b"echo bye\n")
            fleet.supervisor.terminate()
            self.assertEqual(fleet.supervisor.wait(30), 0)
            fleet.supervisor = None
            self.assertFalse(fleet.r.exists("ccx:host:" + host, "ccx:workers:" + host))
            self.assertIsNone(fleet.r.zscore("ccx:hosts", host))
            # A beat of a minute never came: the job was counted by the leaving flush.
            self.assertEqual(int(fleet.r.hget("ccx:finished", "ok")), 1)
        finally:
            self.assertEqual(fleet.stop(), [])


class OutageTest(unittest.TestCase):
    """Redis away for a while: the beats fail and back off, /metrics keeps answering (it
    does not wait for the loop) and counts the failures, and the host is back in Redis soon
    after Redis is."""

    def test_beats_back_off_and_resume_after_an_outage(self):
        require_root()
        port = free_port()
        fleet = Fleet(1)
        fleet.supervisor_args = ["--beat-ms", "200", "--metrics-listen", f"127.0.0.1:{port}"]
        fleet.start()
        host = socket.gethostname()
        try:
            redis_port = int(fleet.url.rsplit(":", 1)[1])
            fleet.redis_proc.terminate()
            fleet.redis_proc.wait(10)
            time.sleep(3)
            start = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                text = reply.read().decode()
            self.assertLess(time.monotonic() - start, 1.0)
            failures = parse_metrics(text)[("ccx_heartbeat_failures_total", frozenset())]
            # 15 beats in 3 s; backing off 1, 3, 7 beats, only a few of them were tried.
            self.assertGreaterEqual(failures, 2)
            self.assertLessEqual(failures, 6)
            self.assertTrue(fleet.wait_log(r"event=heartbeat_failed errno=\d+"))

            fleet._start_redis(redis_port)
            deadline = time.monotonic() + 10
            while not fleet.r.exists("ccx:host:" + host) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(fleet.r.exists("ccx:host:" + host), "the host never came back")
            self.assertTrue(fleet.wait_log(r"event=heartbeat_ok failures=\d+"))
        finally:
            self.assertEqual(fleet.stop(), [])


if __name__ == "__main__":
    unittest.main()
