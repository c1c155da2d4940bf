"""The Node.js client (clients/node) against a real fleet: starts the fleet, then runs the
client's own suites (clients/node/test/*.test.js) with node's built-in test runner, the
fleet's Redis URL in CCX_REDIS_URL.

The suites run one file at a time (--test-concurrency=1): they share the fleet's two
workers, and the cancel suite needs both free to hold them. The run passes only when node
exits 0, reports no failure, skip, todo or cancelled test, and passed as many tests as the
files declare, so a suite that silently ran nothing fails here.

lease_ms 3000, as in test_cancel, so that a cancel reaches a running job within a second.
node_modules comes from `npm ci` (scripts/deps does it once)."""

import glob
import os
import re
import subprocess
import sys

from fleet import SOURCE_DIR, FleetTestCase

NODE_DIR = os.path.join(SOURCE_DIR, "clients", "node")
NODE = "/usr/bin/node"
RUN_TIMEOUT_S = 420  # under ctest's 900 s for the suite, with the fleet's start and stop
TEST_TIMEOUT_MS = 120000  # one test


class NodeClientTest(FleetTestCase):

    workers = 2
    fleet_config = {"lease_ms": 3000}

    def test_node_suites(self):
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "redis")):
            self.fail(f"{NODE_DIR}/node_modules is missing: run `npm ci` there "
                      "(scripts/deps does it)")
        suites = sorted(glob.glob(os.path.join(NODE_DIR, "test", "*.test.js")))
        self.assertGreaterEqual(len(suites), 4, suites)
        declared = 0
        for path in suites:
            with open(path) as f:
                declared += len(re.findall(r"^test\(", f.read(), re.M))
        try:
            done = subprocess.run(
                [NODE, "--test", "--test-concurrency=1", "--test-reporter=tap",
                 f"--test-timeout={TEST_TIMEOUT_MS}"] + suites,
                cwd=NODE_DIR, capture_output=True, timeout=RUN_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                env=dict(os.environ, CCX_REDIS_URL=self.fleet.url, NO_COLOR="1"))
        except subprocess.TimeoutExpired as e:
            print((e.stdout or b"").decode("utf-8", "replace")
                  + (e.stderr or b"").decode("utf-8", "replace"), file=sys.stderr)
            self.fail(f"node --test still running after {RUN_TIMEOUT_S} s (a handle left "
                      "open keeps a suite's process alive); its output so far is above")
        output = done.stdout.decode("utf-8", "replace")
        print(output + done.stderr.decode("utf-8", "replace"), file=sys.stderr)
        counts = {name: int(n) for name, n in
                  re.findall(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$", output,
                             re.M)}
        self.assertEqual(done.returncode, 0, "node --test failed (its output is above)")
        self.assertEqual(counts.get("fail"), 0, counts)
        self.assertEqual(counts.get("cancelled"), 0, counts)
        self.assertEqual(counts.get("skipped"), 0, counts)
        self.assertEqual(counts.get("todo"), 0, counts)
        self.assertEqual(counts.get("pass"), declared, counts)
        print(f"\n  node client: {counts['pass']} of {declared} tests passed", flush=True)


if __name__ == "__main__":
    import unittest
    unittest.main()
