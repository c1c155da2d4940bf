"""`ccx breaker` and `ccx events` against a real redis-server: listing and resetting breakers
that breaker.lua opened, filtering events, and --follow picking up new events, across a
Redis restart too."""

import json
import os
import select
import subprocess
import time
import unittest

import msgpack

from fleet import Fleet, binary, free_port

SOURCE_DIR = os.environ.get("CCX_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(SOURCE_DIR, "worker", "breaker.lua")) as f:
    LIBRARY = f.read()

RECORD = ("return breaker_record(ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], "
          "ARGV[6], ARGV[7])")
SETTINGS = "enabled=1 window_calls=10 window_ms=60000 min_calls=4 failure_pct=50 min_hosts=2"


class BreakerCliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet()
        cls.fleet._start_redis()
        cls.addClassCleanup(cls.fleet.stop, check_host=False)

    def setUp(self):
        self.fleet.r.flushall()

    def ccx(self, *args, timeout=30):
        env = dict(os.environ)
        env.pop("CCX_REDIS_URL", None)
        return subprocess.run([binary("ccx"), *args, "--redis", self.fleet.url],
                              capture_output=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)

    def now_ms(self):
        seconds, micros = self.fleet.r.time()
        return seconds * 1000 + micros // 1000

    def open_tenant(self, tenant="acme"):
        """Opens tenant's breaker through breaker.lua: failures from two live hosts."""
        now = self.now_ms()
        self.fleet.r.zadd("ccx:hosts", {"h1": now, "h2": now})
        for i in range(4):
            self.fleet.r.eval(LIBRARY + "\n" + RECORD, 0, tenant, "h1" if i % 2 else "h2",
                              now + i, 1, 0, 0, SETTINGS)
        self.assertEqual(self.fleet.r.hget(f"ccx:breaker:tenant:{tenant}", "state"), b"OPEN")

    def add_event(self, **event):
        return self.fleet.r.xadd("ccx:events", {"event": msgpack.packb(event)}).decode()

    def lines(self, done):
        self.assertEqual(done.returncode, 0, done.stderr)
        return [json.loads(line) for line in done.stdout.decode().splitlines()]

    # -- ccx breaker ---------------------------------------------------------------------

    def test_list_without_breakers(self):
        done = self.ccx("breaker", "list")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(b"no breakers yet", done.stdout)
        self.assertEqual(json.loads(self.ccx("breaker", "list", "--json").stdout), [])

    def test_list_shows_an_open_breaker(self):
        self.open_tenant()
        rows = json.loads(self.ccx("breaker", "list", "--json").stdout)
        tenant = [r for r in rows if r["scope"] == "tenant"]
        self.assertEqual(len(tenant), 1)
        self.assertEqual((tenant[0]["tenant"], tenant[0]["state"], tenant[0]["failures"],
                          tenant[0]["calls"], tenant[0]["failing"]),
                         ("acme", "OPEN", 4, 4, ["h1", "h2"]))
        self.assertGreater(tenant[0]["until"], self.now_ms())
        self.assertEqual(sorted(r["host"] for r in rows if r["scope"] == "host"), ["h1", "h2"])

        table = self.ccx("breaker", "list")
        self.assertEqual(table.returncode, 0, table.stderr)
        text = table.stdout.decode().splitlines()
        self.assertTrue(text[0].startswith("SCOPE"), text)
        acme = [line for line in text if " acme " in line]
        self.assertEqual(len(acme), 1, text)
        self.assertRegex(acme[0],
                         r"^tenant\s+acme\s+OPEN\s+4/4 \(100%\)\s+h1,h2\s+\S+Z \(in \d+ s\)")

    def test_reset_closes_and_publishes(self):
        self.open_tenant()
        done = self.ccx("breaker", "reset", "acme")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = json.loads(self.ccx("breaker", "list", "--json").stdout)
        acme = [r for r in rows if r.get("tenant") == "acme"][0]
        self.assertEqual((acme["state"], acme["calls"]), ("CLOSED", 0))
        events = self.lines(self.ccx("events", "--kind", "breaker_reset"))
        self.assertEqual(len(events), 1)
        self.assertEqual((events[0]["tenant"], events[0]["scope"], events[0]["previous"],
                          events[0]["calls"]), ("acme", "tenant", "OPEN", 4))

    def test_reset_host(self):
        self.open_tenant()
        done = self.ccx("breaker", "reset", "--host", "h1")
        self.assertEqual(done.returncode, 0, done.stderr)
        events = self.lines(self.ccx("events", "--kind", "breaker_reset"))
        self.assertEqual([(e["scope"], e["host"]) for e in events], [("host", "h1")])

    def test_reset_of_an_unknown_breaker_exits_4(self):
        done = self.ccx("breaker", "reset", "nobody")
        self.assertEqual(done.returncode, 4)
        self.assertIn(b"no breaker for tenant nobody", done.stderr)
        self.assertEqual(self.fleet.r.xlen("ccx:events"), 0)

    def test_usage_errors_exit_2(self):
        for args in (["breaker"], ["breaker", "open"], ["breaker", "reset"],
                     ["breaker", "reset", "bad name"], ["breaker", "reset", "a", "b"],
                     ["breaker", "reset", "acme", "--host", "h1"],
                     ["events", "--count", "many"], ["events", "--follow", "--from-start"],
                     ["events", "stray"]):
            done = self.ccx(*args)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertTrue(done.stderr.startswith(b"ccx: "), (args, done.stderr))

    def test_unreachable_redis_exits_3(self):
        url = f"redis://127.0.0.1:{free_port()}"
        for args in (["breaker", "list"], ["events"]):
            done = subprocess.run([binary("ccx"), *args, "--redis", url], capture_output=True,
                                  timeout=30)
            self.assertEqual(done.returncode, 3, (args, done.stderr))
            self.assertIn(b"cannot reach Redis", done.stderr)

    # -- ccx events ----------------------------------------------------------------------

    def test_events_newest_first_and_filtered(self):
        ids = [self.add_event(kind="syscall_refused", tenant="acme" if i % 2 else "beta",
                              job_id=f"job-{i}", ts=i) for i in range(6)]
        self.fleet.r.xadd("ccx:events", {"other": b"no event field"})
        self.fleet.r.xadd("ccx:events", {"event": b"\xc1 not msgpack"})

        everything = self.lines(self.ccx("events"))
        self.assertEqual([e["ts"] for e in everything], [5, 4, 3, 2, 1, 0])
        self.assertEqual(everything[0]["stream_id"], ids[5])

        acme = self.lines(self.ccx("events", "--tenant", "acme"))
        self.assertEqual([e["job_id"] for e in acme], ["job-5", "job-3", "job-1"])
        self.assertEqual(self.lines(self.ccx("events", "--tenant", "acme", "--count", "2")),
                         acme[:2])
        self.assertEqual([e["job_id"] for e in self.lines(self.ccx("events", "--job", "job-2"))],
                         ["job-2"])
        self.assertEqual(self.lines(self.ccx("events", "--kind", "breaker_opened")), [])
        start = self.lines(self.ccx("events", "--from-start", "--count", "2"))
        self.assertEqual([e["ts"] for e in start], [0, 1])

    def test_events_filter_reaches_past_one_page(self):
        self.add_event(kind="zombie_killed", tenant="rare", ts=0)
        pipe = self.fleet.r.pipeline()
        for i in range(450):
            pipe.xadd("ccx:events", {"event": msgpack.packb({"kind": "x", "tenant": "busy"})})
        pipe.execute()
        rare = self.lines(self.ccx("events", "--tenant", "rare"))
        self.assertEqual([e["kind"] for e in rare], ["zombie_killed"])

    def test_follow_prints_new_events_and_survives_a_redis_restart(self):
        self.add_event(kind="breaker_opened", tenant="acme", ts=1)
        self.add_event(kind="breaker_opened", tenant="beta", ts=2)
        env = dict(os.environ)
        env.pop("CCX_REDIS_URL", None)
        proc = subprocess.Popen([binary("ccx"), "events", "--follow", "--tenant", "acme",
                                 "--count", "5", "--redis", self.fleet.url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                stdin=subprocess.DEVNULL, bufsize=0)
        self.addCleanup(self.stop, proc)

        backlog = self.read_line(proc)
        self.assertEqual((backlog["kind"], backlog["ts"]), ("breaker_opened", 1))

        self.open_tenant()  # a real breaker_opened event from breaker.lua
        event = self.read_line(proc)
        self.assertEqual((event["kind"], event["tenant"], event["scope"]),
                         ("breaker_opened", "acme", "tenant"))

        self.fleet.restart_redis()
        self.add_event(kind="job_finished", tenant="beta", ts=3)
        self.add_event(kind="job_finished", tenant="acme", ts=4)
        after = self.read_line(proc, timeout_s=30)
        self.assertEqual((after["kind"], after["ts"]), ("job_finished", 4))
        self.assertIsNone(proc.poll())

    def read_line(self, proc, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                line = proc.stdout.readline()
                self.assertTrue(line, proc.stderr.read() if proc.poll() is not None else "")
                return json.loads(line)
        self.fail("ccx events --follow printed nothing in time")

    @staticmethod
    def stop(proc):
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
