"""The ccx command line client against a real fleet: exit codes, --json, --stdin,
CCX_REDIS_URL, and a clear failure when Redis cannot be reached."""

import json
import os
import subprocess
import tempfile
import unittest

from fleet import FleetTestCase, binary, free_port


class CliTest(FleetTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.files = tempfile.TemporaryDirectory(prefix="ccx-cli-")
        cls.addClassCleanup(cls.files.cleanup)

    def write(self, name, data):
        path = os.path.join(self.files.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def ccx(self, *args, env=None, redis=True, timeout=180):
        argv = [binary("ccx"), "submit"]
        if redis:
            argv += ["--redis", self.fleet.url]
        full_env = dict(os.environ)
        full_env.pop("CCX_REDIS_URL", None)  # only a URL the test gives may count
        full_env.update(env or {})
        return subprocess.run(argv + list(args), capture_output=True, timeout=timeout,
                              env=full_env, stdin=subprocess.DEVNULL)

    def test_ok_exits_zero_and_prints_output(self):
        hello = self.write("hello.py", b'print("hello from the cli")\n')
        done = self.ccx("--lang", "python", hello)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(b"hello from the cli", done.stdout)

    def test_result_survives_a_redis_restart_while_waiting(self):
        import time

        slow = self.write("slow.py", b'import time\ntime.sleep(3)\nprint("after restart")\n')
        argv = [binary("ccx"), "submit", "--redis", self.fleet.url, "--lang", "python", slow]
        waiting = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL)
        time.sleep(1)  # taken by a worker by now: the restart loses only Redis's copy
        self.fleet.restart_redis()
        out, err = waiting.communicate(timeout=120)
        self.assertEqual(waiting.returncode, 0, err)
        self.assertIn(b"after restart", out)

    def test_error_exit_exits_one(self):
        failing = self.write("fail.py", b"import sys\nsys.exit(5)\n")
        done = self.ccx("--lang", "python", failing)
        self.assertEqual(done.returncode, 1, done.stderr)

    def test_json_output_parses(self):
        hello = self.write("hello_json.py", b'print("json please")\n')
        done = self.ccx("--json", "--tenant", "cli-tenant", "--lang", "python", hello)
        self.assertEqual(done.returncode, 0, done.stderr)
        result = json.loads(done.stdout)
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["stdout"], "json please\n")
        self.assertEqual(result["tenant"], "cli-tenant")
        self.assertEqual(result["language"], "python")

    def test_stdin_file(self):
        echo = self.write("echo.py", b"import sys\nprint(sys.stdin.read().upper(), end='')\n")
        stdin = self.write("input.txt", b"from a file\n")
        done = self.ccx("--json", "--stdin", stdin, "--lang", "python", echo)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["stdout"], "FROM A FILE\n")

    def test_limits_flags(self):
        loop = self.write("loop.py", b"while True:\n    pass\n")
        done = self.ccx("--json", "--wall-ms", "800", "--memory-mb", "64", "--lang", "python",
                        loop)
        self.assertNotEqual(done.returncode, 0)
        self.assertEqual(json.loads(done.stdout)["status"], "timeout")

    def test_redis_url_from_environment(self):
        hello = self.write("hello_env.py", b'print("via env")\n')
        done = self.ccx("--lang", "python", hello, redis=False,
                        env={"CCX_REDIS_URL": self.fleet.url})
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(b"via env", done.stdout)

    def test_malformed_redis_url_is_a_usage_error(self):
        hello = self.write("hello_badurl.py", b'print("never")\n')
        done = self.ccx("--redis", "foo://x", "--lang", "python", hello, redis=False,
                        timeout=60)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn(b"not a Redis URL", done.stderr)

    def test_program_and_stdin_cannot_both_come_from_standard_input(self):
        done = self.ccx("--lang", "python", "-", "--stdin", "-")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn(b"standard input", done.stderr)

    def test_unreachable_redis_exits_three(self):
        hello = self.write("hello_nowhere.py", b'print("never")\n')
        port = free_port()  # nothing listens there: connect is refused at once
        done = self.ccx("--redis", f"redis://127.0.0.1:{port}", "--lang", "python", hello,
                        redis=False, timeout=60)
        self.assertEqual(done.returncode, 3, done.stderr)
        message = done.stderr.decode(errors="replace")
        self.assertTrue(message.strip(), "no message on stderr")
        self.assertTrue("redis" in message.lower() or str(port) in message,
                        f"the message does not say what failed: {message!r}")


if __name__ == "__main__":
    unittest.main()
