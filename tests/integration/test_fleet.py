"""End to end through a real fleet: jobs on ccx:jobs, results on ccx:result/ccx:reply.

Every test asserts fields of the result the workers stored. The class shares one fleet;
tearDownClass fails if a process, cgroup or mount outlived it."""

import os
import re
import select
import socket
import unittest

import msgpack

from fleet import FleetTestCase, as_bytes, new_job_id

RESULT_FIELDS = ("id", "status", "reason", "language", "tenant", "exit_code", "signal",
                 "signal_name", "stdout", "stderr", "stdout_dropped", "stderr_dropped",
                 "wall_ms", "cpu_ms", "memory_peak_kb", "compile", "events", "enforced", "host",
                 "worker", "attempt", "policy_version", "meta")

HELLO = {
    "python": ('print("hello from python")\n', b"hello from python\n"),
    "node": ('console.log("hello from node");\n', b"hello from node\n"),
    "c": ('#include <stdio.h>\nint main(void) { puts("hello from c"); return 0; }\n',
          b"hello from c\n"),
    "sh": ('echo "hello from sh"\n', b"hello from sh\n"),
}


class FleetTest(FleetTestCase):

    def assert_status(self, result, status):
        self.assertEqual(result["status"], status,
                         f"result: { {k: v for k, v in result.items() if k != 'stdout'} }")

    def event_kinds(self, result):
        return [e.get("kind") for e in result.get("events") or []]

    def assert_hello(self, language):
        source, expected = HELLO[language]
        result = self.fleet.run(language, source)
        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]), expected)
        self.assertEqual(result["exit_code"], 0)
        self.assertEqual(result["language"], language)

    # -- the languages -------------------------------------------------------------------

    def test_hello_python(self):
        self.assert_hello("python")

    def test_hello_node(self):
        self.assert_hello("node")

    def test_hello_c(self):
        self.assert_hello("c")

    def test_hello_sh(self):
        self.assert_hello("sh")

    def test_result_has_every_field(self):
        job_id = self.fleet.submit("python", 'print("x")\n', tenant="acme")
        result = self.fleet.wait(job_id)
        self.assertEqual(sorted(set(RESULT_FIELDS) - set(result)), [])
        self.assertEqual(result["id"], job_id)
        self.assertEqual(result["tenant"], "acme")
        self.assertIsNone(result["reason"])
        self.assertIsNone(result["compile"])  # python has no compile step
        self.assertIsInstance(result["stdout"], bytes, "stdout must travel as msgpack bin")
        self.assertIsInstance(result["stderr"], bytes, "stderr must travel as msgpack bin")
        self.assertEqual(result["attempt"], 1)
        self.assertTrue(result["host"])
        for field in ("wall_ms", "cpu_ms", "memory_peak_kb", "stdout_dropped", "worker"):
            self.assertIsInstance(result[field], int, field)
        self.assertGreater(result["memory_peak_kb"], 0)

    def test_error_exit(self):
        result = self.fleet.run("python", "import sys\nsys.stderr.write('bad\\n')\nsys.exit(3)\n")
        self.assert_status(result, "error_exit")
        self.assertEqual(result["exit_code"], 3)
        self.assertEqual(as_bytes(result["stderr"]), b"bad\n")

    def test_stdin_round_trip(self):
        data = b"line one\nline two\n\x00\xff binary too\n"
        result = self.fleet.run("python", "import sys\n"
                                "sys.stdout.buffer.write(sys.stdin.buffer.read())\n", stdin=data)
        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]), data)

    def test_files_and_main(self):
        files = {"lib/greet.py": b"def greet(n):\n    return 'hi ' + n\n",
                 "app.py": b"import sys\nsys.path.insert(0, 'lib')\nimport greet\n"
                           b"print(greet.greet(sys.argv[1]))\n"}
        result = self.fleet.run("python", files=files, main="app.py", args=["there"])
        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]), b"hi there\n")

    def test_compile_error(self):
        result = self.fleet.run("c", "int main(void) { return undeclared_name; }\n")
        self.assert_status(result, "compile_error")
        compile_step = result["compile"]
        self.assertIsInstance(compile_step, dict)
        self.assertEqual(compile_step["status"], "compile_error")
        self.assertIn(b"error:", as_bytes(compile_step["stderr"]))

    # -- limits --------------------------------------------------------------------------

    def test_endless_loop_times_out(self):
        result = self.fleet.run("python", "while True:\n    pass\n", limits={"wall_ms": 1000})
        self.assert_status(result, "timeout")
        self.assertIn("timeout", self.event_kinds(result))
        self.assertGreaterEqual(result["wall_ms"], 1000)
        self.assertLess(result["wall_ms"], 10000)

    def test_timeout_event_on_events_stream(self):
        job_id = self.fleet.submit("python", "while True:\n    pass\n", limits={"wall_ms": 500},
                                   tenant="evt")
        self.assert_status(self.fleet.wait(job_id), "timeout")
        events = self.fleet.events_for(job_id, kind="timeout")
        self.assertIn("timeout", [e.get("kind") for e in events])
        for event in events:
            self.assertEqual(event["tenant"], "evt")
            self.assertIsInstance(event["ts"], int)
            self.assertTrue(event["host"])

    def test_memory_limit(self):
        source = ("buf = bytearray(1 << 30)\n"
                  "for i in range(0, len(buf), 4096):\n    buf[i] = 1\n"
                  "print('touched')\n")
        result = self.fleet.run("python", source, limits={"memory_mb": 128, "wall_ms": 20000})
        self.assert_status(result, "memory_limit")
        self.assertNotIn(b"touched", as_bytes(result["stdout"]))

    def test_fork_bomb_hits_pids_limit(self):
        # The job's first process must outlive the bomb's start: when it exits, its pid
        # namespace ends and every process in it with it.
        bomb = ":(){ :|:& };:\nexec sleep 30\n"
        result = self.fleet.run("sh", bomb, limits={"pids": 32, "wall_ms": 3000})
        self.assert_status(result, "pids_limit")
        # The host and the fleet are fine afterwards.
        self.assert_hello("python")

    def test_output_flood(self):
        source = "import sys\nline = 'x' * 1000 + '\\n'\nwhile True:\n    sys.stdout.write(line)\n"
        result = self.fleet.run("python", source,
                                limits={"output_bytes": 65536, "wall_ms": 10000})
        self.assert_status(result, "output_limit")
        stdout = as_bytes(result["stdout"])
        self.assertEqual(len(stdout), 65536)
        self.assertTrue(stdout.startswith(b"x" * 1000 + b"\n" + b"x" * 1000 + b"\n"))
        self.assertGreater(result["stdout_dropped"], 0)

    # -- isolation -----------------------------------------------------------------------

    def test_etc_shadow_is_not_readable(self):
        source = ("try:\n"
                  "    data = open('/etc/shadow', 'rb').read()\n"
                  "    print('READ-OK', len(data))\n"
                  "    print(data.decode(errors='replace'))\n"
                  "except Exception as e:\n"
                  "    print('failed:', type(e).__name__)\n")
        result = self.fleet.run("python", source)
        output = as_bytes(result["stdout"]) + as_bytes(result["stderr"])
        self.assertNotIn(b"READ-OK", output)
        self.assertIn(b"failed:", output)
        with open("/etc/shadow", "rb") as f:
            host_lines = [line.strip() for line in f if line.strip()]
        self.assertTrue(host_lines, "the host's /etc/shadow is empty: nothing to compare")
        for line in host_lines:
            self.assertNotIn(line, output)

    def test_hostname_is_not_the_hosts(self):
        host_name = socket.gethostname().encode()
        source = ("import socket\n"
                  "try:\n    print('file:', open('/etc/hostname').read().strip())\n"
                  "except Exception as e:\n    print('file:', type(e).__name__)\n"
                  "print('uname:', socket.gethostname())\n")
        result = self.fleet.run("python", source)
        self.assert_status(result, "ok")
        output = as_bytes(result["stdout"]) + as_bytes(result["stderr"])
        self.assertIn(b"uname: ", output)
        self.assertNotIn(b"uname: " + host_name + b"\n", output)
        # As a whole word: a short host name ("vm") may be part of other words.
        self.assertIsNone(re.search(rb"(?<![\w-])" + re.escape(host_name) + rb"(?![\w-])", output),
                          f"host name {host_name!r} seen in {output!r}")

    def test_no_network_to_host_loopback(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            listener.setblocking(False)
            port = listener.getsockname()[1]
            source = ("import socket\n"
                      "try:\n"
                      f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                      "    print('CONNECTED')\n"
                      "except Exception as e:\n"
                      "    print('failed:', type(e).__name__, e)\n")
            job_id = self.fleet.submit("python", source, limits={"wall_ms": 10000})
            result = self.fleet.wait(job_id)
            output = as_bytes(result["stdout"])
            # The refusal is named in the result and published on the events stream.
            details = [e["detail"] for e in result["events"] if e["kind"] == "syscall_refused"]
            self.assertTrue(any(d.startswith("syscall=socket family=AF_INET ") for d in details),
                            details)
            published = self.fleet.events_for(job_id, kind="syscall_refused")
            self.assertIn("syscall=socket family=AF_INET",
                          " ".join(e["detail"] for e in published
                                   if e["kind"] == "syscall_refused"))
            self.assertNotIn(b"CONNECTED", output)
            readable, _, _ = select.select([listener], [], [], 0.5)
            self.assertEqual(readable, [], "the job's connect reached the test's listener")

    # -- the protocol ----------------------------------------------------------------------

    def test_malformed_msgpack_is_rejected_under_entry_id(self):
        entry_id = self.fleet.raw_xadd(b"\xc1garbage")
        result = self.fleet.wait(entry_id)
        self.assert_status(result, "rejected")
        self.assertEqual(result["id"], entry_id)
        self.assertTrue(result["reason"])

    def test_unknown_language_is_rejected(self):
        result = self.fleet.run("cobol", "DISPLAY 'HI'.\n")
        self.assert_status(result, "rejected")
        self.assertIn("cobol", result["reason"])

    def test_huge_source_is_rejected_then_fleet_still_works(self):
        job_id, entry_id = self.fleet.enqueue("python", b"#" * (100 * 1024 * 1024))
        # An oversized message is refused before decoding: the answer may come under the
        # stream entry id rather than the job id, so both are watched.
        ids = [job_id, entry_id]
        result = self.fleet.wait(*ids)
        self.assert_status(result, "rejected")
        self.assertTrue(result["reason"])
        self.assert_hello("python")

    def test_oversized_meta_is_not_echoed(self):
        # A result holding the meta of a message near Redis's 512 MiB value limit could not
        # be stored at all; the answer must stay small whatever the message held.
        meta = b"\0" * (17 * 1024 * 1024)
        job_id, entry_id = self.fleet.enqueue("python", b"print(1)\n", meta=meta)
        result = self.fleet.wait(job_id, entry_id)
        self.assert_status(result, "rejected")
        self.assertEqual(result["id"], job_id)
        self.assertIn("max_job_bytes", result["reason"])
        self.assertIsNone(result["meta"])
        self.assertLess(len(self.fleet.r.get("ccx:result:" + job_id)), 64 * 1024)
        self.assert_hello("python")

    def test_hostile_file_names_are_rejected_and_touch_nothing(self):
        # Each name would land outside the workspace, or be read as something else, if the
        # worker ever used it as a path: the decoder must refuse the job before that.
        marker = "ccx-hostile-" + new_job_id()
        names = [f"../../../../tmp/{marker}", f"/tmp/{marker}", f"/etc/{marker}",
                 f"a/../../{marker}", f"{marker}\x00.py", f"-{marker}", f"./{marker}"]
        for name in names:
            with self.subTest(name=name):
                files = {name.encode(): b"print(1)\n", b"main.py": b"print(2)\n"}
                result = self.fleet.run("python", files=files, main=b"main.py")
                self.assert_status(result, "rejected")
                self.assertIn("path", result["reason"])
        for directory in ("/tmp", "/etc", "/", os.path.dirname(self.fleet.tmp)):
            self.assertEqual([n for n in os.listdir(directory) if marker in n], [], directory)

    def test_ten_thousand_files_and_deep_meta_are_rejected(self):
        files = {f"f{i}.py".encode(): b"" for i in range(10000)}
        files[b"main.py"] = b"print(1)\n"
        result = self.fleet.run("python", files=files, main=b"main.py")
        self.assert_status(result, "rejected")
        self.assertIn("files", result["reason"])

        deep = []
        for _ in range(200):
            deep = [deep]
        # Refused before it is parsed, so answered under the stream entry id.
        result = self.fleet.wait(*self.fleet.enqueue("python", "print(1)\n", meta=deep))
        self.assert_status(result, "rejected")
        self.assertIn("deep", result["reason"])
        self.assert_hello("python")

    def test_meta_is_echoed(self):
        meta = {"trace": "abc-123", "n": 42, "ratio": 0.25,
                "nested": {"list": [1, None, True, "two"], "raw": b"\x00\x01\xff"}}
        result = self.fleet.run("python", "pass\n", meta=meta)
        self.assert_status(result, "ok")
        self.assertEqual(result["meta"], meta)
        self.assertEqual(msgpack.packb(result["meta"], use_bin_type=True),
                         msgpack.packb(meta, use_bin_type=True))

    def test_enforced_names_cgroup_for_memory(self):
        result = self.fleet.run("python", "pass\n")
        enforced = result["enforced"]
        self.assertIsInstance(enforced, dict)
        self.assertIn("memory", enforced)
        self.assertIn("cgroup", str(enforced["memory"]))

    def test_each_tenant_runs_under_a_cgroup_parent_of_its_own(self):
        # Case and a dot matter: each name gets its own parent (docs/SANDBOX.md).
        offset = self.fleet.log_size()
        dirs = {}
        for tenant in ("Tcg.Alpha", "tcg.alpha", "tcg.beta"):
            result = self.fleet.run("sh", "echo in\n", tenant=tenant)
            self.assertEqual(result["status"], "ok", result.get("reason"))
            how = result["enforced"].get("tenant_cgroup", "")
            found = re.search(r" [^ ]+/(t-[a-z0-9_-]+-[0-9a-f]{8}),", how)
            self.assertTrue(found, f"tenant_cgroup of {tenant}: {how!r}")
            self.assertIn("memory_mb=max", how)
            dirs[tenant] = found.group(1)
        self.assertEqual(len(set(dirs.values())), 3, dirs)
        self.assertTrue(dirs["tcg.beta"].startswith("t-tcg_beta-"), dirs)
        log = self.fleet.log_text(offset)
        for tenant, name in dirs.items():
            self.assertRegex(log, rf"event=cgroup_tenant_created mode=cgroup_v[12] "
                                  rf"tenant=\"{re.escape(tenant)}\" cgroup=[^ ]+/{name}")

    def test_job_delivered_to_a_dead_worker_and_never_leased_is_taken_over(self):
        # A consumer that read the job and died before it took the lease: the entry stays
        # pending under its name, with no lease. XADD and its read share one transaction, so
        # no live worker can take it first.
        job = {"id": new_job_id(), "language": "python", "source": b'print("taken over")\n'}
        pipe = self.fleet.r.pipeline(transaction=True)
        pipe.xadd("ccx:jobs", {"job": msgpack.packb(job, use_bin_type=True)})
        pipe.xreadgroup("ccx-workers", "dead-host:1", {"ccx:jobs": ">"}, count=1)
        added, taken = pipe.execute()
        entry_id = as_bytes(added).decode()
        job_id = job["id"]
        self.assertEqual(as_bytes(taken[0][1][0][0]).decode(), entry_id)
        # Make it look idle for longer than a lease, as a dead worker's would.
        self.fleet.r.xclaim("ccx:jobs", "ccx-workers", "dead-host:1", 0, [entry_id],
                            idle=10 ** 9, justid=True)

        result = self.fleet.wait(job_id, timeout_s=30)
        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]), b"taken over\n")
        # The delivery to the dead consumer counts as the first attempt.
        self.assertEqual(result["attempt"], 2)
        pending = self.fleet.r.xpending("ccx:jobs", "ccx-workers")
        self.assertEqual(pending["pending"], 0)
        self.assertIsNone(self.fleet.r.zscore("ccx:leases", entry_id))
        self.assertFalse(self.fleet.r.exists("ccx:lease:" + entry_id))

    def test_killed_worker_takes_its_job_and_cgroups_with_it(self):
        import glob
        import os
        import signal
        import time

        from fleet import _proc_stat, descendants, fleet_names

        marker = "4242.5"
        # A short wall limit: the job is handed back and runs again (test_leases), and that
        # second run should not keep a worker of this class busy for long.
        job_id = self.fleet.submit("sh", f"sleep {marker}\n", limits={"wall_ms": 8000})

        def sleeper_and_worker():
            for pid in descendants(self.fleet.supervisor.pid):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        argv = f.read().split(b"\0")
                except OSError:
                    continue
                if argv[:2] == [b"sleep", marker.encode()]:
                    parent = pid
                    while parent and (_proc_stat(parent) or ("",))[0] != "ccx-worker":
                        parent = (_proc_stat(parent) or (None, None, 0))[2]
                    return pid, parent
            return None, None

        deadline = time.monotonic() + 10
        sleeper, worker = sleeper_and_worker()
        while not sleeper and time.monotonic() < deadline:
            time.sleep(0.05)
            sleeper, worker = sleeper_and_worker()
        self.assertTrue(sleeper and worker, "the job never started")

        # The worker's step cgroups sit in the tenant's parent: t-default-<hash>.
        parent = fleet_names()[0]

        def worker_cgroups():
            return glob.glob(f"/sys/fs/cgroup/*/{parent}/t-*/w{worker}-*") + \
                glob.glob(f"/sys/fs/cgroup/{parent}/t-*/w{worker}-*")

        self.assertNotEqual(worker_cgroups(), [], "the running job's cgroup was not found")
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = worker_cgroups()
            if _proc_stat(sleeper) is None and not left:
                break
            time.sleep(0.1)
        self.assertIsNone(_proc_stat(sleeper), "the job outlived its worker")
        self.assertEqual(left, [], "the dead worker's cgroups were not swept")
        # The job is handed back and runs again elsewhere: nothing of the first run is
        # stored, and the second run is still going.
        self.assertIsNone(self.fleet.r.get("ccx:result:" + job_id))
        # The slot is restarted and the fleet goes on.
        time.sleep(1.5)
        self.assert_hello("python")


if __name__ == "__main__":
    unittest.main()
