"""The example Python client (clients/python/ccx_client.py) against a real fleet, imported
as a module and run as a command."""

import os
import subprocess
import sys
import tempfile
import unittest

from fleet import PYTHON, SOURCE_DIR, FleetTestCase

CLIENT_DIR = os.path.join(SOURCE_DIR, "clients", "python")
sys.path.insert(0, CLIENT_DIR)

import ccx_client  # noqa: E402  (found through CLIENT_DIR)


class PythonClientTest(FleetTestCase):

    def test_run_returns_bytes_output(self):
        result = ccx_client.run(self.fleet.r, "python", b"print('hi from the client')\n",
                                timeout_s=120)
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["stdout"], b"hi from the client\n")
        self.assertIsInstance(result["status"], str)

    def test_submit_wait_with_everything(self):
        meta = {"ticket": 7, "tags": ["a", "b"]}
        job_id = ccx_client.submit(self.fleet.r, "python",
                                   "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n",
                                   stdin="1 2 3 4\n", limits={"wall_ms": 5000}, tenant="py",
                                   meta=meta, job_id="client-test-1")
        self.assertEqual(job_id, "client-test-1")
        result = ccx_client.wait(self.fleet.r, job_id, 120)
        self.assertEqual(result["id"], "client-test-1")
        self.assertEqual(result["stdout"], b"10\n")
        self.assertEqual(result["tenant"], "py")
        self.assertEqual(result["meta"], meta)
        # The reply was popped; a second wait finds the stored result instead.
        again = ccx_client.wait(self.fleet.r, job_id, 1)
        self.assertEqual(again, result)

    def test_wait_without_result_is_none(self):
        self.assertIsNone(ccx_client.wait(self.fleet.r, "no-such-job", 1))

    def test_command_line(self):
        with tempfile.TemporaryDirectory(prefix="ccx-pyclient-") as tmp:
            program = os.path.join(tmp, "prog.py")
            with open(program, "w") as f:
                f.write("import sys\nprint('cmd', sys.stdin.read().strip())\nsys.exit(2)\n")
            stdin = os.path.join(tmp, "in.txt")
            with open(stdin, "w") as f:
                f.write("line\n")
            done = subprocess.run(
                [PYTHON, os.path.join(CLIENT_DIR, "ccx_client.py"), "--redis", self.fleet.url,
                 "--stdin", stdin, program], capture_output=True, timeout=180)
        self.assertEqual(done.stdout, b"cmd line\n")
        self.assertIn(b"status=error_exit", done.stderr)
        self.assertEqual(done.returncode, 1)

    def test_command_line_ok(self):
        hello = os.path.join(SOURCE_DIR, "examples", "hello.py")
        done = subprocess.run([PYTHON, os.path.join(CLIENT_DIR, "ccx_client.py"), hello],
                              capture_output=True, timeout=180,
                              env=dict(os.environ, CCX_REDIS_URL=self.fleet.url))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"hello from python\n")


if __name__ == "__main__":
    unittest.main()
