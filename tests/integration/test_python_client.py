"""The Python client (clients/python/ccx_client.py) against a real fleet: its first version's
module functions, the Client class (every operation, typed errors, cancel, rejected jobs,
an unreachable Redis), and the file run as a command.

One fleet for the class: lease_ms 3000, so that a cancel reaches a running job within a
second; max_job_bytes 64 KiB, so that a job too large to read (answered under its stream
entry id) is cheap to make."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from fleet import PYTHON, SOURCE_DIR, FleetTestCase, free_port

CLIENT_DIR = os.path.join(SOURCE_DIR, "clients", "python")
sys.path.insert(0, CLIENT_DIR)

import ccx_client  # noqa: E402  (found through CLIENT_DIR)


class PythonClientTest(FleetTestCase):

    fleet_config = {"lease_ms": 3000, "max_job_bytes": 65536}

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

    def test_command_line_redis_unreachable(self):
        hello = os.path.join(SOURCE_DIR, "examples", "hello.py")
        url = f"redis://127.0.0.1:{free_port()}"
        done = subprocess.run([PYTHON, os.path.join(CLIENT_DIR, "ccx_client.py"), "--redis",
                               url, hello], capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn(f"ccx_client: cannot reach Redis at {url}".encode(), done.stderr)
        self.assertNotIn(b"Traceback", done.stderr)


class ClientTest(FleetTestCase):
    """ccx_client.Client. (A class of its own, so a fleet of its own, started the same way.)"""

    fleet_config = {"lease_ms": 3000, "max_job_bytes": 65536}

    def setUp(self):
        self.ccx = ccx_client.Client(self.fleet.url)
        self.addCleanup(self.ccx.close)

    def start_sleeper(self, marker, **job):
        """Submits `sleep marker` (sh) and waits for it to run; returns (job id, pid)."""
        job_id = self.ccx.submit("sh", f"sleep {marker}\necho woke\n",
                                 limits={"wall_ms": 60000}, **job)
        pid, _ = self.fleet.wait_process([b"sleep", marker.encode()], timeout_s=30)
        self.assertTrue(pid, f"the job sleeping {marker} never started")
        return job_id, pid

    # -- run, submit, wait, result ----------------------------------------------------

    def test_run_hello_python(self):
        result = self.ccx.run("python", "print('hello from python')\n", timeout_s=120)
        self.assertIsInstance(result, ccx_client.Result)
        self.assertIsInstance(result, dict)
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result.status, "ok")
        self.assertTrue(result.ok)
        self.assertEqual(result["stdout"], b"hello from python\n")
        self.assertEqual(result["stderr"], b"")
        self.assertEqual(result.text, "hello from python\n")
        self.assertEqual(result.stdout_text, "hello from python\n")
        self.assertEqual(result["exit_code"], 0)
        self.assertEqual(result["tenant"], "default")
        self.assertEqual(result["attempt"], 1)
        self.assertIs(result.raise_for_status(), result)
        self.assertIs(result.check(), result)

    def test_run_hello_node(self):
        result = self.ccx.run("node", "console.log('hello from node', 6 * 7)\n",
                              timeout_s=120)
        self.assertEqual(result.status, "ok", result.get("reason"))
        self.assertEqual(result.text, "hello from node 42\n")

    def test_submit_with_every_field(self):
        meta = {"ticket": 9, "tags": ["x"], "raw": b"\x00\xff"}
        files = {"main.py": "import sys, helper\nhelper.go(sys.argv[1:], sys.stdin.read())\n",
                 "helper.py": b"def go(args, text):\n"
                              b"    print('|'.join(args), text.upper(), end='')\n"
                              b"    import sys; sys.stderr.write('err\\xff')\n"}
        deadline = self.ccx.deadline_in(600)
        job_id = self.ccx.submit("python", files=files, main="main.py", stdin=b"abc\n",
                                 args=["one", "two words"], limits={"wall_ms": 5000,
                                                                    "memory_mb": 128},
                                 tenant="acme.py-1", meta=meta, deadline=deadline,
                                 max_attempts=2, job_id="pyclient-every-field")
        self.assertEqual(job_id, "pyclient-every-field")
        result = self.ccx.wait(job_id, timeout_s=120)
        self.assertEqual(result.status, "ok", result.get("reason"))
        self.assertEqual(result["id"], job_id)
        self.assertEqual(result["stdout"], b"one|two words ABC\n")
        self.assertEqual(result["stderr"], "err\xff".encode())  # bytes as written
        self.assertEqual(result.stderr_text, "err\xff")
        self.assertEqual(result["tenant"], "acme.py-1")
        self.assertEqual(result["meta"], meta)
        # The reply was popped: a second wait and a lookup find the stored result.
        self.assertEqual(self.ccx.wait(job_id, timeout_s=5), result)
        self.assertEqual(self.ccx.result(job_id), result)
        self.assertIsInstance(self.ccx.result(job_id), ccx_client.Result)

    def test_stdin_as_str_and_bytes(self):
        source = "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n"
        self.assertEqual(self.ccx.run("python", source, stdin="1 2 3\n").text, "6\n")
        self.assertEqual(self.ccx.run("python", source.encode(), stdin=b"40 2").text, "42\n")

    def test_result_lookup(self):
        self.assertIsNone(self.ccx.result("pyclient-never-submitted"))
        job_id, pid = self.start_sleeper("6161.5")
        self.assertIsNone(self.ccx.result(job_id))  # running: nothing stored yet
        os.kill(pid, signal.SIGKILL)
        waited = self.ccx.wait(job_id, timeout_s=30)
        self.assertEqual(waited.status, "ok")
        self.assertEqual(waited.text, "woke\n")
        self.assertEqual(self.ccx.result(job_id), waited)

    def test_two_waiters_on_one_job_both_get_it(self):
        # The reply is pushed once: one waiter pops it, the other finds the stored result.
        job_id = self.ccx.submit("sh", "sleep 1; echo both\n")
        got = []

        def waiter():
            with ccx_client.Client(self.fleet.url) as other:
                got.append(other.wait(job_id, timeout_s=60))
        threads = [threading.Thread(target=waiter) for _ in range(2)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0], got[1])
        self.assertEqual(got[0]["stdout"], b"both\n")
        # The second waiter is answered within a BLPOP slice of the first, not at its timeout.
        self.assertLess(time.monotonic() - started, 30)

    def test_job_too_large_to_read_is_answered_under_its_entry(self):
        # Over twice max_job_bytes: the worker cannot read the id and answers under the
        # stream entry id; the client that sent it watches that reply too.
        job_id = self.ccx.submit("python", "print(1)\n", stdin=b"x" * 200000)
        result = self.ccx.wait(job_id, timeout_s=60)
        self.assertEqual(result.status, "rejected")
        self.assertNotEqual(result["id"], job_id)
        self.assertRegex(result["id"], r"^\d+-\d+$")
        self.assertIn("max_job_bytes", result["reason"])

    # -- statuses other than ok are returned -----------------------------------------

    def test_rejected_job_is_returned_not_raised(self):
        result = self.ccx.run("python", "print(1)\n", limits={"wall_ms": 10 ** 9})
        self.assertEqual(result.status, "rejected")
        self.assertFalse(result.ok)
        self.assertIn("wall_ms", result["reason"])
        self.assertIn("ceiling", result["reason"])
        with self.assertRaises(ccx_client.CcxJobFailedError) as caught:
            result.raise_for_status()
        self.assertIs(caught.exception.result, result)
        self.assertEqual(caught.exception.status, "rejected")
        self.assertIn("rejected", str(caught.exception))
        self.assertIn("ceiling", str(caught.exception))

        unknown = self.ccx.run("cobol", "DISPLAY 'HI'.\n")
        self.assertEqual(unknown.status, "rejected")
        self.assertIn("cobol", unknown["reason"])

    def test_error_exit_is_returned(self):
        result = self.ccx.run("sh", "echo out; echo oops >&2; exit 3\n")
        self.assertEqual(result.status, "error_exit")
        self.assertEqual(result["exit_code"], 3)
        self.assertEqual(result.stderr_text, "oops\n")
        with self.assertRaisesRegex(ccx_client.CcxJobFailedError, r"error_exit \(exit code 3\)"):
            result.check()

    # -- timeout ---------------------------------------------------------------------

    def test_wait_timeout_raises_its_own_error(self):
        job_id = self.ccx.submit("sh", "sleep 3; echo late\n")
        started = time.monotonic()
        with self.assertRaises(ccx_client.CcxTimeoutError) as caught:
            self.ccx.wait(job_id, timeout_s=0.5)
        took = time.monotonic() - started
        self.assertGreaterEqual(took, 0.5)
        self.assertLess(took, 2.5)
        error = caught.exception
        self.assertIsInstance(error, TimeoutError)
        self.assertIsInstance(error, ccx_client.CcxError)
        self.assertEqual(error.job_id, job_id)
        self.assertEqual(error.waited_s, 0.5)
        self.assertIn(job_id, str(error))
        self.assertIn("0.5 s", str(error))
        # The job goes on and is answered; waiting again gets it.
        self.assertEqual(self.ccx.wait(job_id, timeout_s=60).text, "late\n")

    def test_run_timeout(self):
        with self.assertRaisesRegex(ccx_client.CcxTimeoutError, r"within 1 s"):
            self.ccx.run("sh", "sleep 4\n", timeout_s=1)

    # -- cancel ----------------------------------------------------------------------

    def test_cancel_running_job(self):
        job_id, pid = self.start_sleeper("6262.5")
        self.assertEqual(self.ccx.cancel(job_id), "running")
        result = self.ccx.wait(job_id, timeout_s=30)
        self.assertEqual(result.status, "cancelled")
        self.assertEqual(result["reason"], "cancelled by its client while it ran")
        self.assertIsNone(self.fleet.process_running([b"sleep", b"6262.5"])[0])
        self.assertEqual(self.ccx.cancel(job_id), "finished")
        self.assertEqual(self.ccx.cancel("pyclient-never-sent"), "unknown")

    def test_cancel_queued_job(self):
        # Both workers busy, so the third job waits in the queue.
        blockers = [self.start_sleeper(marker) for marker in ("6363.5", "6464.5")]
        job_id = self.ccx.submit("sh", "echo should-not-run\n")
        self.assertEqual(self.ccx.cancel(job_id), "pending")
        for blocker, pid in blockers:
            os.kill(pid, signal.SIGKILL)
            self.assertEqual(self.ccx.wait(blocker, timeout_s=30).status, "ok")
        result = self.ccx.wait(job_id, timeout_s=30)
        self.assertEqual(result.status, "cancelled")
        self.assertEqual(result["reason"], "cancelled by its client before it started")
        self.assertEqual(result["stdout"], b"")

    # -- errors before sending -------------------------------------------------------

    def test_invalid_jobs_are_refused_before_sending(self):
        r = self.fleet.r
        before = r.xinfo_stream("ccx:jobs")["entries-added"]
        cases = [
            (dict(language="python", source="x", stdn=b""), "unknown job field 'stdn'"),
            (dict(language="python", source="x", stdn=b""), "did you mean 'stdin'"),
            (dict(language="python", source="x", job_id="bad id!"), "job id 'bad id!'"),
            (dict(language="python", source="x", job_id="x" * 129), "1 to 128"),
            (dict(language="python", source="x", job_id=""), "job id ''"),
            (dict(language="python", source="x", files={"a.py": "x"}, main="a.py"),
             "not both"),
            (dict(language="python"), "give source, or files"),
            (dict(language="python", files={"a.py": "x"}), "main is missing"),
            (dict(language="python", files={"a.py": "x"}, main="b.py"), "does not name"),
            (dict(language="python", source="x", main="main.py"), "main goes with files"),
            (dict(language="python", files={"../a.py": "x"}, main="../a.py"),
             "not a valid path"),
            (dict(language="python", files={"/a.py": "x"}, main="/a.py"), "not a valid path"),
            (dict(language="python", source="x", limits={"wall_s": 5}),
             "did you mean 'wall_ms'"),
            (dict(language="python", source="x", limits={"wall_ms": 0}), "positive integer"),
            (dict(language="python", source="x", limits={"wall_ms": "5"}),
             "positive integer"),
            (dict(language="python", source="x", tenant="a b"), "tenant 'a b'"),
            (dict(language="python", source="x", tenant="t:1"), "tenant 't:1'"),
            (dict(language="python", source="x", args="one"), "args must be a list"),
            (dict(language="python", source="x", args=["a\0b"]), "without NUL"),
            (dict(language="python", source="x", deadline=-5), "deadline"),
            (dict(language="python", source="x", max_attempts=0), "max_attempts"),
            (dict(language="", source="x"), "language"),
            (dict(language="python", source=42), "source must be bytes or str"),
            (dict(language="python", source="x", meta={"f": object()}), "msgpack"),
        ]
        for fields, message in cases:
            with self.subTest(fields=fields):
                with self.assertRaises(ccx_client.CcxInvalidJobError) as caught:
                    self.ccx.submit(**fields)
                self.assertIn(message, str(caught.exception))
                self.assertIsInstance(caught.exception, ValueError)
        with self.assertRaisesRegex(ccx_client.CcxInvalidJobError, "job id"):
            self.ccx.wait("no spaces allowed", timeout_s=1)
        with self.assertRaisesRegex(ccx_client.CcxInvalidJobError, "timeout_s"):
            self.ccx.wait("fine-id", timeout_s=0)
        with self.assertRaisesRegex(ccx_client.CcxInvalidJobError, "job id"):
            self.ccx.cancel("a/b")
        with self.assertRaisesRegex(ccx_client.CcxInvalidJobError, "job id"):
            self.ccx.result("")
        # The module functions check the same way.
        with self.assertRaises(ccx_client.CcxInvalidJobError):
            ccx_client.submit(r, "python", "x", job_id="bad id")
        self.assertEqual(r.xinfo_stream("ccx:jobs")["entries-added"], before)

    # -- Redis out of reach, close ---------------------------------------------------

    def test_connection_error_names_the_url(self):
        url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
        with ccx_client.Client(url, connect_timeout_s=2) as down:
            calls = [lambda: down.submit("python", "print(1)\n"),
                     lambda: down.wait("some-job", timeout_s=1),
                     lambda: down.run("python", "print(1)\n"),
                     lambda: down.result("some-job"),
                     lambda: down.cancel("some-job"),
                     lambda: down.ping()]
            for call in calls:
                with self.assertRaises(ccx_client.CcxConnectionError) as caught:
                    call()
                error = caught.exception
                self.assertIsInstance(error, ConnectionError)
                self.assertEqual(error.url, url.replace("hunter2", "***"))
                self.assertIn("cannot reach Redis at redis://:***@127.0.0.1:", str(error))
                self.assertNotIn("hunter2", str(error))

    def test_close(self):
        ccx = ccx_client.Client(self.fleet.url)
        ccx.ping()
        ccx.close()
        ccx.close()  # twice is fine
        with self.assertRaisesRegex(ccx_client.CcxError, "closed"):
            ccx.submit("python", "print(1)\n")
        with ccx_client.Client(self.fleet.url) as inside:
            job_id = inside.submit("python", "print(1)\n")
        with self.assertRaisesRegex(ccx_client.CcxError, "closed"):
            inside.result(job_id)
        self.assertEqual(self.ccx.wait(job_id, timeout_s=60).status, "ok")

    def test_existing_redis_connection(self):
        with ccx_client.Client(self.fleet.r) as ccx:
            self.assertEqual(ccx.run("sh", "echo reused\n").text, "reused\n")


if __name__ == "__main__":
    unittest.main()
