"""worker/breaker.lua driven directly with EVAL on a real redis-server: the library read from
its file with a small wrapper body appended, as the claim and finish scripts do. Time is
the `now` argument, never a sleep."""

import os
import unittest

import msgpack
import redis

from fleet import Fleet

SOURCE_DIR = os.environ.get("CCX_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(SOURCE_DIR, "worker", "breaker.lua")) as f:
    LIBRARY = f.read()

T0 = 1_800_000_000_000
SETTINGS = ("enabled=1 window_calls=10 window_ms=60000 min_calls=4 failure_pct=50 "
            "cooldown_ms=30000 probes=2 min_hosts=2 count_limits=0 live_ms=45000 "
            "probe_ttl_ms=360000 events_maxlen=1000")


def settings(**changes):
    pairs = dict(item.split("=") for item in SETTINGS.split())
    pairs.update({k: str(v) for k, v in changes.items()})
    return " ".join(f"{k}={v}" for k, v in pairs.items())


class BreakerLuaTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet()
        cls.fleet._start_redis()
        cls.addClassCleanup(cls.fleet.stop, check_host=False)
        cls.r = cls.fleet.r

    def setUp(self):
        self.r.flushall()

    # -- wrappers: the library plus one line of body ---------------------------------

    def eval(self, body, *args):
        return self.r.eval(LIBRARY + "\n" + body, 0, *args)

    def gate(self, tenant, now, host="h1"):
        return self.eval("return breaker_gate_tenant(ARGV[1], ARGV[2], tonumber(ARGV[3]))",
                         tenant, host, now).decode()

    def gate_host(self, host, now):
        return self.eval("return breaker_gate_host(ARGV[1], tonumber(ARGV[2]))",
                         host, now).decode()

    def record(self, tenant, host, now, tenant_failed=False, host_failed=False, probe=0,
               s=SETTINGS, host_s=""):
        reply = self.eval("return breaker_record(ARGV[1], ARGV[2], tonumber(ARGV[3]), "
                          "ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])",
                          tenant, host, now, int(tenant_failed), int(host_failed), probe, s,
                          host_s)
        return [x.decode() for x in reply]

    def reset(self, scope, name, now):
        return self.eval("return breaker_reset(ARGV[1], ARGV[2], tonumber(ARGV[3]))",
                         scope, name, now)

    def listing(self, now):
        return msgpack.unpackb(self.eval("return breaker_list(tonumber(ARGV[1]))", now),
                               raw=False)

    def state(self, scope, name):
        value = self.r.hget(f"ccx:breaker:{scope}:{name}", "state")
        return value.decode() if value else None

    def live(self, *hosts, now=T0):
        for host in hosts:
            self.r.zadd("ccx:hosts", {host: now})

    def events(self):
        return [msgpack.unpackb(fields[b"event"], raw=False)
                for _, fields in self.r.xrange("ccx:events")]

    def open_tenant(self, tenant="acme", now=T0):
        """Opens the tenant's breaker with failures from two hosts of two live ones."""
        self.live("h1", "h2", now=now)
        for i in range(4):
            self.record(tenant, "h1" if i % 2 else "h2", now + i, tenant_failed=True)
        self.assertEqual(self.state("tenant", tenant), "OPEN")
        return now + 3

    # -- the tenant breaker --------------------------------------------------------------

    def test_unknown_tenant_is_closed_and_writes_nothing(self):
        self.assertEqual(self.gate("nobody", T0), "closed")
        self.assertEqual(self.r.keys("ccx:breaker:*"), [])
        self.assertEqual(self.events(), [])

    def test_stays_closed_under_min_calls(self):
        self.live("h1", "h2")
        for i in range(3):
            self.assertEqual(self.record("acme", "h1" if i % 2 else "h2", T0 + i,
                                         tenant_failed=True)[0], "none")
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")
        self.assertEqual(self.gate("acme", T0 + 10), "closed")
        self.assertEqual(self.events(), [])

    def test_stays_closed_under_the_failure_rate(self):
        self.live("h1", "h2")
        for i in range(8):
            self.record("acme", "h1" if i % 2 else "h2", T0 + i, tenant_failed=i >= 5)
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")

    def test_one_host_of_two_live_does_not_open(self):
        self.live("h1", "h2")
        for i in range(8):
            self.assertEqual(self.record("acme", "h1", T0 + i, tenant_failed=True)[0], "none")
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")
        self.assertEqual(self.gate("acme", T0 + 10), "closed")

    def test_two_hosts_of_two_live_open(self):
        self.live("h1", "h2")
        results = [self.record("acme", "h1" if i % 2 else "h2", T0 + i, tenant_failed=True)[0]
                   for i in range(4)]
        self.assertEqual(results, ["none", "none", "none", "opened"])
        self.assertEqual(self.gate("acme", T0 + 10), "open")
        opened = [e for e in self.events() if e["kind"] == "breaker_opened"]
        self.assertEqual(len(opened), 1)
        event = opened[0]
        self.assertEqual(event["scope"], "tenant")
        self.assertEqual(event["tenant"], "acme")
        self.assertEqual(event["failure_pct"], 100)
        self.assertEqual(event["calls"], 4)
        self.assertEqual(event["failing_hosts"], 2)
        self.assertEqual(event["until"], T0 + 3 + 30000)
        self.assertEqual(event["ts"], T0 + 3)

    def test_one_live_host_suffices(self):
        self.live("h1")
        for i in range(4):
            self.record("acme", "h1", T0 + i, tenant_failed=True)
        self.assertEqual(self.state("tenant", "acme"), "OPEN")

    def test_no_live_host_counts_as_a_fleet_of_one(self):
        for i in range(4):
            self.record("acme", "h1", T0 + i, tenant_failed=True)
        self.assertEqual(self.state("tenant", "acme"), "OPEN")

    def test_stale_hosts_are_not_live(self):
        self.live("h1")
        self.live("h2", now=T0 - 100000)  # last seen long before live_ms
        for i in range(4):
            self.record("acme", "h1", T0 + i, tenant_failed=True)
        self.assertEqual(self.state("tenant", "acme"), "OPEN")

    def test_min_hosts_above_the_live_fleet_means_all_live_hosts(self):
        self.live("h1", "h2")
        s = settings(min_hosts=3)
        for i in range(4):
            self.record("acme", "h1" if i % 2 else "h2", T0 + i, tenant_failed=True, s=s)
        self.assertEqual(self.state("tenant", "acme"), "OPEN")

    def test_disabled_breaker_never_opens(self):
        self.live("h1")
        for i in range(6):
            self.assertEqual(self.record("acme", "h1", T0 + i, tenant_failed=True,
                                         s=settings(enabled=0))[0], "disabled")
        self.assertIsNone(self.state("tenant", "acme"))
        self.assertEqual(self.gate("acme", T0 + 10), "closed")

    def test_turning_an_open_breaker_off_closes_it(self):
        at = self.open_tenant()
        self.assertEqual(self.record("acme", "h1", at + 1, tenant_failed=True,
                                     s=settings(enabled=0))[0], "closed")
        self.assertEqual(self.gate("acme", at + 2), "closed")
        last = self.events()[-1]
        self.assertEqual((last["kind"], last["reason"], last["previous"]),
                         ("breaker_closed", "disabled", "OPEN"))

    def test_now_must_be_a_number(self):
        with self.assertRaises(redis.ResponseError) as caught:
            self.eval("return breaker_gate_tenant(ARGV[1], ARGV[2], tonumber(ARGV[3]))",
                      "acme", "h1", "soon")
        self.assertIn("now must be a number", str(caught.exception))

    def test_open_gates_open_until_the_cooldown_ends(self):
        at = self.open_tenant()
        self.assertEqual(self.gate("acme", at + 1), "open")
        self.assertEqual(self.gate("acme", at + 29999), "open")
        self.assertEqual(self.state("tenant", "acme"), "OPEN")

    def test_half_open_lets_exactly_k_probes_through(self):
        at = self.open_tenant()
        after = at + 30000
        answers = [self.gate("acme", after + i) for i in range(5)]
        self.assertEqual(answers, ["probe", "probe", "open", "open", "open"])
        self.assertEqual(self.state("tenant", "acme"), "HALF_OPEN")
        half = [e for e in self.events() if e["kind"] == "breaker_half_open"]
        self.assertEqual(len(half), 1)
        self.assertEqual(half[0]["ts"], after)

    def test_probe_successes_close(self):
        at = self.open_tenant()
        after = at + 30000
        self.assertEqual(self.gate("acme", after), "probe")
        self.assertEqual(self.gate("acme", after), "probe")
        self.assertEqual(self.record("acme", "h1", after + 1, probe=1)[0], "probe_ok")
        self.assertEqual(self.state("tenant", "acme"), "HALF_OPEN")
        # One probe answered: one more may go.
        self.assertEqual(self.gate("acme", after + 2), "probe")
        self.assertEqual(self.record("acme", "h2", after + 3, probe=1)[0], "closed")
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")
        self.assertEqual(self.gate("acme", after + 4), "closed")
        # The window was cleared: the failures that opened it are gone.
        self.assertEqual(self.r.llen("ccx:breaker:window:tenant:acme"), 0)
        closed = [e for e in self.events() if e["kind"] == "breaker_closed"]
        self.assertEqual(len(closed), 1)

    def test_single_probe_success_closes_with_probes_1(self):
        s = settings(probes=1)
        self.live("h1")
        for i in range(4):
            self.record("acme", "h1", T0 + i, tenant_failed=True, s=s)
        self.assertEqual(self.gate("acme", T0 + 30003), "probe")
        self.assertEqual(self.gate("acme", T0 + 30003), "open")
        self.assertEqual(self.record("acme", "h1", T0 + 30004, probe=1, s=s)[0], "closed")

    def test_probe_failure_reopens_with_a_doubled_cooldown(self):
        at = self.open_tenant()
        after = at + 30000
        self.assertEqual(self.gate("acme", after), "probe")
        self.assertEqual(self.record("acme", "h1", after + 1, tenant_failed=True,
                                     probe=1)[0], "opened")
        self.assertEqual(self.state("tenant", "acme"), "OPEN")
        until = int(self.r.hget("ccx:breaker:tenant:acme", "until"))
        self.assertEqual(until, after + 1 + 60000)
        self.assertEqual(self.gate("acme", after + 1 + 59999), "open")
        self.assertEqual(self.gate("acme", after + 1 + 60000), "probe")
        kinds = [e["kind"] for e in self.events()]
        self.assertEqual(kinds, ["breaker_opened", "breaker_half_open", "breaker_opened",
                                 "breaker_half_open"])
        self.assertEqual(self.events()[2]["reason"], "probe_failed")

    def test_cooldown_doubling_is_capped(self):
        self.live("h1")
        s = settings(cooldown_ms=2000000)
        for i in range(4):
            self.record("acme", "h1", T0 + i, tenant_failed=True, s=s)
        now = T0 + 2000003
        self.assertEqual(self.gate("acme", now), "probe")
        self.record("acme", "h1", now, tenant_failed=True, probe=1, s=s)
        self.assertEqual(int(self.r.hget("ccx:breaker:tenant:acme", "until")), now + 3600000)

    def test_unanswered_probes_are_given_back_after_probe_ttl(self):
        at = self.open_tenant()
        after = at + 30000
        self.assertEqual([self.gate("acme", after) for _ in range(3)],
                         ["probe", "probe", "open"])
        self.assertEqual(self.gate("acme", after + 359999), "open")
        self.assertEqual(self.gate("acme", after + 360000), "probe")

    def test_a_probe_given_back_frees_its_slot(self):
        at = self.open_tenant()
        after = at + 30000
        self.assertEqual([self.gate("acme", after) for _ in range(3)],
                         ["probe", "probe", "open"])
        self.eval("breaker_release_probe(ARGV[1], ARGV[2], ARGV[3]) return 1", "acme", "h1", 1)
        self.assertEqual(self.gate("acme", after + 1), "probe")
        self.assertEqual(self.state("tenant", "acme"), "HALF_OPEN")
        self.assertEqual(self.r.llen("ccx:breaker:window:tenant:acme"), 4)
        self.assertEqual([e["kind"] for e in self.events()],
                         ["breaker_opened", "breaker_half_open"])

    def test_outcomes_of_jobs_claimed_before_the_open_move_nothing(self):
        at = self.open_tenant()
        self.assertEqual(self.record("acme", "h1", at + 1)[0], "none")
        self.assertEqual(self.record("acme", "h1", at + 2, tenant_failed=True)[0], "none")
        self.assertEqual(self.state("tenant", "acme"), "OPEN")
        self.assertEqual(len(self.events()), 1)

    # -- the window ----------------------------------------------------------------------

    def test_old_outcomes_leave_the_window_by_count(self):
        self.live("h1")
        s = settings(window_calls=4, min_calls=4, failure_pct=100)
        self.record("acme", "h1", T0, s=s)
        for i in range(3):
            self.record("acme", "h1", T0 + 1 + i, tenant_failed=True, s=s)
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")  # 3 of 4
        # The fifth outcome pushes the success out: 4 failures of 4.
        self.assertEqual(self.record("acme", "h1", T0 + 4, tenant_failed=True, s=s)[0],
                         "opened")
        self.assertEqual(self.r.llen("ccx:breaker:window:tenant:acme"), 4)

    def test_old_outcomes_leave_the_window_by_age(self):
        self.live("h1", now=T0 + 100000)
        for i in range(3):
            self.record("acme", "h1", T0 + i, tenant_failed=True)
        later = T0 + 60003  # the three are now older than window_ms
        self.assertEqual(self.record("acme", "h1", later, tenant_failed=True)[0], "none")
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")
        self.assertEqual(self.r.llen("ccx:breaker:window:tenant:acme"), 1)
        row = [x for x in self.listing(later) if x["scope"] == "tenant"][0]
        self.assertEqual((row["calls"], row["failures"]), (1, 1))

    # -- the host breaker ----------------------------------------------------------------

    def test_host_breaker_needs_two_tenants(self):
        self.live("h1", "h2")
        self.record("beta", "h1", T0)  # a second tenant is seen on h1
        for i in range(6):
            self.assertEqual(self.record("acme", "h1", T0 + 1 + i, host_failed=True)[1],
                             "none")
        self.assertEqual(self.state("host", "h1"), "CLOSED")
        self.assertEqual(self.record("beta", "h1", T0 + 7, host_failed=True)[1], "opened")
        self.assertEqual(self.state("host", "h1"), "OPEN")
        self.assertEqual(self.gate_host("h1", T0 + 8), "open")
        self.assertEqual(self.gate_host("h2", T0 + 8), "closed")
        event = [e for e in self.events() if e["scope"] == "host"][0]
        self.assertEqual((event["kind"], event["host"], event["failing_tenants"]),
                         ("breaker_opened", "h1", 2))
        # The tenant breakers saw no tenant failure.
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")

    def test_one_tenant_alone_does_not_open_its_host(self):
        for i in range(8):
            self.record("acme", "h1", T0 + i, host_failed=True)
        self.assertEqual(self.state("host", "h1"), "CLOSED")

    def test_host_breakers_take_their_own_settings_and_can_be_off(self):
        off = SETTINGS.replace("enabled=1", "enabled=0")
        for i in range(6):
            self.assertEqual(self.record("acme", "h1", T0 + i, host_failed=True,
                                         host_s=off)[1], "disabled")
        self.assertEqual(self.state("host", "h1"), None)

        # The tenant's breaker off does not turn the host's off: its settings are its own.
        strict = SETTINGS.replace("min_calls=4", "min_calls=2")
        self.record("acme", "h2", T0, host_failed=True, s=off, host_s=strict)
        self.assertEqual(self.record("beta", "h2", T0 + 1, host_failed=True, s=off,
                                     host_s=strict)[1], "opened")

    def test_host_probe_closes_the_host_breaker(self):
        for i in range(4):
            self.record("acme" if i % 2 else "beta", "h1", T0 + i, host_failed=True)
        now = T0 + 3 + 30000
        self.assertEqual(self.gate_host("h1", now), "probe")
        self.assertEqual(self.gate_host("h1", now), "probe")
        self.assertEqual(self.gate_host("h1", now), "open")
        self.assertEqual(self.record("acme", "h1", now + 1, probe=2), ["none", "probe_ok"])
        self.assertEqual(self.record("acme", "h1", now + 2, probe=2), ["none", "closed"])
        self.assertEqual(self.gate_host("h1", now + 3), "closed")

    # -- events, reset, list -------------------------------------------------------------

    def test_every_transition_makes_exactly_one_event(self):
        at = self.open_tenant()
        after = at + 30000
        self.gate("acme", after)
        self.gate("acme", after)
        self.record("acme", "h1", after + 1, probe=1)
        self.record("acme", "h2", after + 2, probe=1)
        kinds = [(e["kind"], e["scope"]) for e in self.events()]
        self.assertEqual(kinds, [("breaker_opened", "tenant"), ("breaker_half_open", "tenant"),
                                 ("breaker_closed", "tenant")])

    def test_events_stream_is_capped(self):
        self.live("h1")
        s = settings(events_maxlen=10, cooldown_ms=1, probes=1, min_calls=1)
        now = T0
        for _ in range(300):
            self.record("acme", "h1", now, tenant_failed=True, s=s)
            now += 2
            self.gate("acme", now)
        self.assertLess(self.r.xlen("ccx:events"), 300)

    def test_reset_closes_clears_and_reports(self):
        at = self.open_tenant()
        self.assertEqual(self.reset("tenant", "acme", at + 5), 1)
        self.assertEqual(self.state("tenant", "acme"), "CLOSED")
        self.assertEqual(self.r.llen("ccx:breaker:window:tenant:acme"), 0)
        self.assertEqual(self.gate("acme", at + 6), "closed")
        last = self.events()[-1]
        self.assertEqual((last["kind"], last["scope"], last["tenant"], last["ts"]),
                         ("breaker_reset", "tenant", "acme", at + 5))
        self.assertEqual(self.reset("tenant", "nobody", at + 5), 0)
        self.assertEqual(len(self.events()), 2)

    def test_reset_host(self):
        for i in range(4):
            self.record("acme", "h1", T0 + i, host_failed=True)
        self.assertEqual(self.reset("host", "h1", T0 + 10), 1)
        self.assertEqual(self.gate_host("h1", T0 + 11), "closed")

    def test_list_shows_every_breaker(self):
        at = self.open_tenant()
        rows = self.listing(at + 1)
        tenants = [r for r in rows if r["scope"] == "tenant"]
        hosts = sorted(r["host"] for r in rows if r["scope"] == "host")
        self.assertEqual(len(tenants), 1)
        row = tenants[0]
        self.assertEqual((row["tenant"], row["state"], row["calls"], row["failures"]),
                         ("acme", "OPEN", 4, 4))
        self.assertEqual(row["failing"], ["h1", "h2"])
        self.assertEqual(row["until"], at + 30000)
        self.assertEqual(hosts, ["h1", "h2"])


if __name__ == "__main__":
    unittest.main()
