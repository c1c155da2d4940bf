"""A fleet that finds its Redis through Sentinel, through a real failover: a master, a
replica and three sentinels on free loopback ports; the master is SIGKILLed while a job
runs. The fleet must find the promoted replica, finish the running job and run the jobs
submitted after the failover. The figures (kill to promotion, promotion to first result)
are printed for the record."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import redis

from fleet import Fleet, decode, free_port, require_root

MASTER_NAME = "mymaster"
SENTINELS = 3
FAILOVER_WAIT_S = 30


def sentinel_command(conf):
    # Debian's redis-sentinel package, or the same server in sentinel mode without it.
    if shutil.which("redis-sentinel"):
        return ["redis-sentinel", conf]
    return ["redis-server", conf, "--sentinel"]


class Topology:
    """A master, its replica and three sentinels; the fleet reaches them through .url."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ccx-sentinel-")
        self.procs = {}
        self.master_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = []

    def _spawn(self, name, argv):
        with open(os.path.join(self.tmp, name + ".log"), "wb") as log:
            self.procs[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                                stderr=subprocess.STDOUT)

    def _server(self, name, port, *extra):
        data = os.path.join(self.tmp, name)
        os.mkdir(data)
        self._spawn(name, ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                           "--save", "", "--appendonly", "no", "--dir", data,
                           "--daemonize", "no", *extra])

    def start(self):
        self._server("master", self.master_port)
        self._wait_ping(self.master_port)
        self._server("replica", self.replica_port,
                     "--replicaof", "127.0.0.1", str(self.master_port))
        self._wait_ping(self.replica_port)
        self._wait(lambda: self.client(self.replica_port).info("replication")
                   .get("master_link_status") == "up", "the replica never synced")

        for i in range(SENTINELS):
            port = free_port()
            conf = os.path.join(self.tmp, f"sentinel{i}.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {self.tmp}\n"
                        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
                        f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                        f"sentinel failover-timeout {MASTER_NAME} 5000\n"
                        f"sentinel parallel-syncs {MASTER_NAME} 1\n")
            self._spawn(f"sentinel{i}", sentinel_command(conf))
            self.sentinel_ports.append(port)
        for port in self.sentinel_ports:
            self._wait_ping(port)

        # A failover needs a majority of sentinels that know each other and the replica;
        # they learn of each other through the master's hello channel, every 2 s.
        def ready():
            for port in self.sentinel_ports:
                s = self.client(port)
                if len(s.execute_command("SENTINEL", "SENTINELS", MASTER_NAME)) < SENTINELS - 1:
                    return False
                if len(s.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)) < 1:
                    return False
            return True
        self._wait(ready, "the sentinels never saw each other and the replica", 30)

    @property
    def url(self):
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis-sentinel://{hosts}/{MASTER_NAME}"

    def client(self, port):
        return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2,
                           socket_timeout=5, decode_responses=False)

    def master_by_sentinels(self):
        """The master's port as every live sentinel names it, or None when they disagree."""
        seen = set()
        for port in self.sentinel_ports:
            try:
                addr = self.client(port).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                                         MASTER_NAME)
            except redis.RedisError:
                continue
            seen.add(int(addr[1]))
        return seen.pop() if len(seen) == 1 else None

    def _wait_ping(self, port):
        self._wait(lambda: self.client(port).ping(), f"no server on port {port}")

    def _wait(self, check, what, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(what)

    def kill(self, name):
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class SentinelFailoverTest(unittest.TestCase):

    workers = 2

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.topology = Topology()
        cls.fleet = None
        try:
            cls.topology.start()
            # The fleet's own Redis handle (consumer counting) goes to the master directly.
            cls.topology.r = cls.topology.client(cls.topology.master_port)
            cls.fleet = Fleet(cls.workers, redis_of=cls.topology)
            cls.fleet.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        leftovers = cls.fleet.stop() if cls.fleet else []
        cls.fleet = None
        cls.topology.stop()
        if leftovers:
            raise AssertionError("left on the host after the fleet stopped:\n  "
                                 + "\n  ".join(leftovers))

    def run_on(self, r, job_id, timeout_s=60):
        reply = r.blpop(["ccx:reply:" + job_id], timeout=timeout_s)
        self.assertIsNotNone(reply, f"no result for {job_id} within {timeout_s} s")
        return decode(reply[1])

    def test_failover_is_followed(self):
        fleet, topo = self.fleet, self.topology
        offset = fleet.log_size()
        master = topo.client(topo.master_port)

        # Before: jobs go through the first master.
        for _ in range(3):
            result = fleet.run("sh", "echo before\n")
            self.assertEqual(result["status"], "ok", result)

        # The fencing tokens the first master handed out so far.
        master_tokens_seen = master.get("ccx:token") or b"0"

        # A job that is running when the master dies.
        # Long enough to outlast the failover's detection (1 s) and election.
        marker = "5.181"
        running_id = fleet.submit("sh", f"sleep {marker}; echo survived\n",
                                  limits={"wall_ms": 60000})
        sleeper, _ = fleet.wait_process([b"sleep", marker.encode()])
        self.assertTrue(sleeper, "the job never started")
        # Its claim must have reached the replica, or there is nothing to fail over to.
        master.execute_command("WAIT", 1, 2000)

        killed_at = time.monotonic()
        topo.kill("master")
        deadline = killed_at + FAILOVER_WAIT_S
        while topo.master_by_sentinels() != topo.replica_port:
            self.assertLess(time.monotonic(), deadline, "the sentinels never failed over")
            time.sleep(0.05)
        promoted_at = time.monotonic()
        new_master = topo.client(topo.replica_port)
        topo._wait(lambda: new_master.info("replication")["role"] == "master",
                   "the replica was never promoted")

        # After: jobs submitted through the new master complete.
        tokens_before = int(master_tokens_seen)
        fleet.r = new_master
        first_id = fleet.submit("sh", "echo after\n")
        first = self.run_on(new_master, first_id)
        first_at = time.monotonic()
        self.assertEqual(first["status"], "ok", first)
        self.assertEqual(first["stdout"], b"after\n")
        for _ in range(3):
            result = fleet.run("sh", "echo later\n")
            self.assertEqual(result["status"], "ok", result)

        # Whoever noticed the change moved the counter past anything the old master gave.
        self.assertGreater(int(new_master.get("ccx:token")), tokens_before + (1 << 32))

        # The job that ran across the failover ends with one final result.
        survivor = self.run_on(new_master, running_id, timeout_s=90)
        self.assertIn(survivor["status"], ("ok", "signaled", "internal_error"), survivor)

        log = fleet.log_text(offset)
        changes = [line for line in log.splitlines() if "event=redis_master_changed" in line]
        self.assertTrue(changes, "no redis_master_changed logged")
        self.assertTrue(all(f"new=127.0.0.1:{topo.replica_port}" in line for line in changes),
                        changes)
        # Once per change and process: the supervisor, the intake and each worker at most
        # once.
        self.assertLessEqual(len(changes), self.workers + 2, changes)

        print(f"\nsentinel failover: kill->promoted {promoted_at - killed_at:.2f} s, "
              f"promoted->first result {first_at - promoted_at:.2f} s, "
              f"kill->first result {first_at - killed_at:.2f} s; "
              f"running job: status={survivor['status']} attempt={survivor.get('attempt')} "
              f"stdout={survivor.get('stdout')!r}; master_changed lines={len(changes)}",
              flush=True)


if __name__ == "__main__":
    unittest.main()
