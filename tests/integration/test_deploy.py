"""The deployment files under deploy/: the systemd units pass `systemd-analyze verify` without
a single warning (with the install paths swapped for this build's binaries), their stop
settings fit the drain, Redis starts with the options of ccx-redis.service, the compose and
Kubernetes files parse and carry the privileges the units do, and those privileges are
really enough: a fleet runs jobs under exactly the unit's capability bounding set and
no_new_privs, and a worker missing any one of the five fails.

Run as root for the last two (they start sandboxes); the rest runs as anyone."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import redis
import yaml

import fleet

DEPLOY = os.path.join(fleet.SOURCE_DIR, "deploy")
SUPERVISOR_UNIT = os.path.join(DEPLOY, "systemd", "ccx-supervisor.service")
REDIS_UNIT = os.path.join(DEPLOY, "systemd", "ccx-redis.service")
COMPOSE = os.path.join(DEPLOY, "container", "compose.yaml")
CONTAINERFILE = os.path.join(DEPLOY, "container", "Containerfile")
ENTRYPOINT = os.path.join(DEPLOY, "container", "entrypoint.sh")
DAEMONSET = os.path.join(DEPLOY, "k8s", "daemonset.yaml")
INSTALL_BIN = "/usr/local/bin/"

# systemd options that install a seccomp filter: a job would inherit it, stacked in front
# of its own, and its EPERMs outrank the job filter's user notification (see the unit).
SECCOMP_OPTIONS = (
    "SystemCallFilter", "SystemCallArchitectures", "RestrictNamespaces",
    "RestrictAddressFamilies", "MemoryDenyWriteExecute", "LockPersonality",
    "RestrictRealtime", "RestrictSUIDSGID", "ProtectKernelModules", "ProtectKernelLogs",
    "ProtectClock", "ProtectHostname", "PrivateDevices", "SystemCallLog",
)

CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE")
CAP_BITS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_SETGID": 6, "CAP_SETUID": 7,
            "CAP_SYS_ADMIN": 21}

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from c"); return 0; }\n'


def joined_lines(path):
    """The lines of a unit file or Containerfile, stripped, each one that ends in a backslash
    joined with the next (a last line that does is dropped)."""
    pending = ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            yield line.strip()


def unit_settings(path):
    """{(section, key): [values]} of a unit file, continuation lines joined."""
    settings, section = {}, None
    for stripped in joined_lines(path):
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            section = stripped.strip("[]")
            continue
        key, _, value = stripped.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


def one(settings, key, section="Service"):
    values = settings.get((section, key))
    if not values:
        raise AssertionError(f"{key}= is not set in [{section}]")
    return values[-1]


def seconds(text):
    match = re.fullmatch(r"(\d+)\s*(s|min)?", text)
    if not match:
        raise AssertionError(f"cannot read {text!r} as seconds")
    return int(match.group(1)) * (60 if match.group(2) == "min" else 1)


def shipped_config():
    with open(os.path.join(DEPLOY, "ccx.json")) as f:
        return json.load(f)


def drain_s():
    """The longest a drain takes before the supervisor kills what is left."""
    return shipped_config()["shutdown_grace_s"]


def systemd_analyze():
    path = shutil.which("systemd-analyze")
    if not path:
        raise AssertionError("systemd-analyze is missing: scripts/deps installs systemd")
    return path


class UnitFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ccx-units-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def copy_unit(self, path, extra=""):
        """The unit with the install path of the binaries swapped for this build's."""
        with open(path) as f:
            text = f.read()
        if path == SUPERVISOR_UNIT:
            self.assertIn("ExecStart=" + INSTALL_BIN, text)
        text = text.replace(INSTALL_BIN, fleet.BIN_DIR + "/") + extra
        out = os.path.join(self.tmp, os.path.basename(path))
        with open(out, "w") as f:
            f.write(text)
        return out

    def verify(self, *units):
        proc = subprocess.run([systemd_analyze(), "verify", *units], capture_output=True,
                              text=True, timeout=120, cwd=self.tmp)
        return proc.returncode, (proc.stdout + proc.stderr).strip()

    def test_units_verify_without_a_warning(self):
        fleet.binary("ccx-supervisor")
        rc, output = self.verify(self.copy_unit(SUPERVISOR_UNIT), self.copy_unit(REDIS_UNIT))
        self.assertEqual((rc, output), (0, ""), "systemd-analyze verify complained")

    def test_verify_does_report_a_bad_setting(self):
        # The check above means something only if verify speaks up on a mistake.
        fleet.binary("ccx-supervisor")
        unit = self.copy_unit(SUPERVISOR_UNIT, "\n[Service]\nKillMod=mixed\n")
        rc, output = self.verify(unit)
        self.assertIn("KillMod", output)

    def test_supervisor_stop_fits_the_drain(self):
        s = unit_settings(SUPERVISOR_UNIT)
        # SIGTERM to the supervisor alone: control-group would SIGTERM every job too.
        self.assertEqual(one(s, "KillMode"), "mixed")
        self.assertEqual(one(s, "KillSignal"), "SIGTERM")
        self.assertGreater(seconds(one(s, "TimeoutStopSec")), drain_s() + 5)
        # systemctl reload sends SIGHUP, which reloads the tenant policy.
        self.assertIn("kill -HUP $MAINPID", one(s, "ExecReload"))
        self.assertEqual(one(s, "SendSIGHUP"), "no")
        self.assertEqual(one(s, "Restart"), "on-failure")
        self.assertEqual(one(s, "StandardError"), "journal")

    def test_supervisor_hardening_keeps_what_the_sandbox_needs(self):
        s = unit_settings(SUPERVISOR_UNIT)
        self.assertEqual(sorted(one(s, "CapabilityBoundingSet").split()), sorted(CAPS))
        self.assertEqual(one(s, "NoNewPrivileges"), "yes")
        self.assertEqual(one(s, "Delegate"), "yes")
        for key in SECCOMP_OPTIONS + ("ProtectControlGroups", "ProtectKernelTunables"):
            self.assertNotIn(("Service", key), s, f"{key}= would break or blind the sandbox")
        # The config's run_dir and uid_lock_dir must be writable under ProtectSystem=strict.
        sandbox = shipped_config()["sandbox"]
        runtime = {"/run/" + d for d in one(s, "RuntimeDirectory").split()}
        self.assertEqual(one(s, "ProtectSystem"), "strict")
        self.assertLessEqual({sandbox["run_dir"], sandbox["uid_lock_dir"]}, runtime)

    def test_redis_unit_command_starts_redis_with_its_options(self):
        # ccx-redis.service's own ExecStart, with a free port and a temp dir.
        argv = shlex.split(one(unit_settings(REDIS_UNIT), "ExecStart"))
        port = fleet.free_port()
        argv[argv.index("--port") + 1] = str(port)
        argv[argv.index("--dir") + 1] = self.tmp
        with open(os.path.join(self.tmp, "redis.log"), "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        r = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2)
        self.addCleanup(r.close)
        deadline = time.monotonic() + 10
        while True:
            try:
                r.ping()
                break
            except redis.ConnectionError:
                self.assertIsNone(proc.poll(), "redis-server exited at start")
                self.assertLess(time.monotonic(), deadline, "redis-server did not answer")
                time.sleep(0.05)
        self.assertEqual(r.config_get("appendonly")["appendonly"], "yes")
        self.assertEqual(r.config_get("maxmemory-policy")["maxmemory-policy"], "noeviction")
        self.assertEqual(r.config_get("bind")["bind"].split()[0], "127.0.0.1")


class Manifests(unittest.TestCase):
    def test_compose_parses_with_the_privileges_of_the_unit(self):
        with open(COMPOSE) as f:
            compose = yaml.safe_load(f)
        self.assertEqual(set(compose["services"]), {"redis", "supervisor"})
        sup = compose["services"]["supervisor"]
        self.assertNotIn("privileged", sup)
        self.assertEqual(sup["cap_drop"], ["ALL"])
        self.assertEqual(sorted("CAP_" + c for c in sup["cap_add"]), sorted(CAPS))
        self.assertLessEqual({"seccomp=unconfined", "apparmor=unconfined",
                              "no-new-privileges:true"}, set(sup["security_opt"]))
        self.assertEqual(sup["cgroup"], "private")
        self.assertGreater(seconds(sup["stop_grace_period"]), drain_s() + 5)
        self.assertTrue(sup["environment"]["CCX_REDIS_URL"].startswith("redis://redis:"))
        self.assertEqual(sup["depends_on"], ["redis"])

    def test_daemonset_parses_with_the_privileges_of_the_unit(self):
        with open(DAEMONSET) as f:
            docs = {d["kind"]: d for d in yaml.safe_load_all(f) if d}
        self.assertLessEqual({"Namespace", "Secret", "ConfigMap", "DaemonSet"}, set(docs))
        pod = docs["DaemonSet"]["spec"]["template"]["spec"]
        self.assertGreater(pod["terminationGracePeriodSeconds"], drain_s() + 5)
        (container,) = pod["containers"]
        sc = container["securityContext"]
        self.assertIs(sc["privileged"], False)
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertEqual(sorted("CAP_" + c for c in sc["capabilities"]["add"]), sorted(CAPS))
        self.assertEqual(sc["seccompProfile"]["type"], "Unconfined")
        # Kubernetes refuses allowPrivilegeEscalation: false with CAP_SYS_ADMIN.
        self.assertNotIn("allowPrivilegeEscalation", sc)
        env = {e["name"]: e for e in container["env"]}
        self.assertEqual(env["CCX_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"],
                         docs["Secret"]["metadata"]["name"])
        self.assertIn("requests", container["resources"])
        self.assertNotIn("readinessProbe", container)  # nothing to probe: see the file

    def test_daemonset_configmap_is_the_shipped_config(self):
        with open(DAEMONSET) as f:
            docs = {d["kind"]: d for d in yaml.safe_load_all(f) if d}
        data = docs["ConfigMap"]["data"]
        self.assertEqual(set(data), {"ccx.json", "seccomp.json", "policy.json"})
        for name, text in data.items():
            with open(os.path.join(DEPLOY, name)) as f:
                self.assertEqual(json.loads(text), json.load(f),
                                 f"the ConfigMap's {name} differs from deploy/{name}: "
                                 "regenerate it (see the top of daemonset.yaml)")
        mounts = {m["name"]: m["mountPath"] for m in
                  docs["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]
                  ["volumeMounts"]}
        self.assertEqual(mounts["config"], "/etc/ccx")


def containerfile_stages():
    """{stage name: [instructions, continuation lines joined]} of the Containerfile."""
    stages, current = {}, None
    for line in joined_lines(CONTAINERFILE):
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = line.split()[-1]
            stages[current] = []
        stages[current].append(line)
    return stages


class ContainerImage(unittest.TestCase):
    def test_copied_files_exist(self):
        for stage, lines in containerfile_stages().items():
            for line in lines:
                words = line.split()
                if words[0] != "COPY" or any(w.startswith("--from") for w in words):
                    continue
                for source in words[1:-1]:
                    if source != ".":
                        self.assertTrue(os.path.exists(os.path.join(fleet.SOURCE_DIR, source)),
                                        f"{stage}: COPY {source}: no such file")

    @staticmethod
    def package_of(path):
        """The Debian package of a library file. With merged /usr, dpkg knows each file
        under the path its package shipped, /lib or /usr/lib, and the link or its target."""
        real = os.path.realpath(path)
        candidates = []
        for p in (path, real):
            candidates += [p, p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p]
        for candidate in candidates:
            owner = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if owner.returncode == 0:
                return owner.stdout.split(":")[0]
        raise AssertionError(f"no Debian package owns {path}")

    def test_runtime_stage_installs_the_binaries_libraries(self):
        # Every shared library the four programs link, by its Debian package, must be in
        # the ccx stage's apt-get install (a library added to CMake must reach the image).
        # Only what they link themselves (NEEDED): the libraries those pull in are their
        # packages' dependencies, which apt installs with them.
        installed = " ".join(containerfile_stages()["ccx"]).split()
        packages = set()
        for name in ("ccx-supervisor", "ccx-worker", "ccx-init", "ccx"):
            ldd = subprocess.run(["ldd", fleet.binary(name)], capture_output=True, text=True,
                                 check=True).stdout
            dynamic = subprocess.run(["readelf", "-d", fleet.binary(name)],
                                     capture_output=True, text=True, check=True).stdout
            needed = set(re.findall(r"\(NEEDED\).*\[(\S+)\]", dynamic))
            for soname, path in re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M):
                if soname in needed:
                    packages.add(self.package_of(path))
        self.assertIn("libseccomp2", packages)  # the lookup works at all
        self.assertIn("libcgroup2", packages)  # recorded under /lib, not /usr/lib
        packages -= {"libc6"}  # in every Debian image
        self.assertLessEqual(packages, set(installed))

    def test_entrypoint_is_valid_shell_and_execs_the_supervisor(self):
        subprocess.run(["sh", "-n", ENTRYPOINT], check=True)
        with open(ENTRYPOINT) as f:
            text = f.read()
        self.assertIn('exec /usr/local/bin/ccx-supervisor "$@"', text)
        self.assertTrue(os.access(ENTRYPOINT, os.X_OK))


def setpriv_argv(caps, no_new_privs=True):
    spec = "-all" + "".join(",+" + c[len("CAP_"):].lower() for c in caps)
    argv = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", f"--bounding-set={spec}"]
    return argv + (["--no-new-privs"] if no_new_privs else [])


class UnitPrivileges(fleet.FleetTestCase):
    """A fleet whose supervisor runs as the unit would: root, with exactly the unit's
    capability bounding set and no_new_privs (setpriv does what systemd would)."""

    workers = 2

    @classmethod
    def setUpClass(cls):
        fleet.require_root()
        caps = one(unit_settings(SUPERVISOR_UNIT), "CapabilityBoundingSet").split()
        cls.wrapper_dir = tempfile.mkdtemp(prefix="ccx-setpriv-")
        wrapper = os.path.join(cls.wrapper_dir, "ccx-supervisor")
        real = fleet.binary("ccx-supervisor")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec " + shlex.join(setpriv_argv(caps) + [real]) + ' "$@"\n')
        os.chmod(wrapper, 0o755)
        cls.real_binary = fleet.binary
        fleet.binary = lambda name: wrapper if name == "ccx-supervisor" else \
            cls.real_binary(name)
        try:
            super().setUpClass()
        finally:
            fleet.binary = cls.real_binary

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.wrapper_dir, ignore_errors=True)

    def test_supervisor_and_workers_hold_only_the_unit_caps(self):
        mask = sum(1 << CAP_BITS[c] for c in CAPS)
        pids = [self.fleet.supervisor.pid] + sorted(fleet.descendants(self.fleet.supervisor.pid))
        self.assertGreater(len(pids), self.workers)
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    status = dict(line.split(":\t", 1) for line in f.read().splitlines()
                                  if ":\t" in line)
            except FileNotFoundError:
                continue
            if status["Name"].strip() not in ("ccx-supervisor", "ccx-worker"):
                continue
            self.assertEqual(int(status["CapBnd"], 16), mask, f"pid {pid}")
            self.assertEqual(status["NoNewPrivs"].strip(), "1", f"pid {pid}")

    def test_jobs_run_under_the_unit_privileges(self):
        cases = [
            ("python", "print('hello from python')", {}, "ok", b"hello from python\n"),
            ("node", "console.log('hello from node')", {}, "ok", b"hello from node\n"),
            ("c", HELLO_C, {}, "ok", b"hello from c\n"),
            ("sh", "echo hello from bash", {}, "ok", b"hello from bash\n"),
            ("python", "while True: pass", {"wall_ms": 1500}, "timeout", b""),
            ("python", "x = bytearray(1 << 30)", {"memory_mb": 64}, "memory_limit", b""),
        ]
        ids = [self.fleet.submit(lang, src, limits=limits)
               for lang, src, limits, _, _ in cases]
        results = {job_id: self.fleet.wait(job_id) for job_id in ids}
        for job_id, (lang, _, _, status, stdout) in zip(ids, cases):
            result = results[job_id]
            self.assertEqual(result["status"], status, f"{lang}: {result}")
            self.assertEqual(fleet.as_bytes(result["stdout"]), stdout, lang)


class EachCapabilityIsNeeded(unittest.TestCase):
    """ccx-worker --direct with the unit's set minus one capability: the job must fail,
    and with the whole set it must pass (so the bounding set is neither short nor long
    by one)."""

    @classmethod
    def setUpClass(cls):
        fleet.require_root()
        cls.tmp = tempfile.mkdtemp(prefix="ccx-caps-")
        cls.config = os.path.join(cls.tmp, "ccx.json")
        config = fleet.fleet_config(cls.config)
        cls.run_dir = config["sandbox"]["run_dir"]
        cls.made_run_dir = not os.path.isdir(cls.run_dir)
        os.makedirs(cls.run_dir, mode=0o700, exist_ok=True)
        cls.source = os.path.join(cls.tmp, "hello.c")
        with open(cls.source, "w") as f:
            f.write(HELLO_C)

    @classmethod
    def tearDownClass(cls):
        # Direct runs leave the (empty) parents of the test's cgroup subtree; only ours.
        cgroup_parent, _ = fleet.fleet_names()
        for path in [f"/sys/fs/cgroup/{cgroup_parent}"] + [
                os.path.join("/sys/fs/cgroup", c, cgroup_parent)
                for c in os.listdir("/sys/fs/cgroup")]:
            if os.path.isdir(path):
                try:
                    os.rmdir(path)
                except OSError as e:
                    print(f"cannot remove {path}: {e}", file=sys.stderr)
        if cls.made_run_dir and os.path.isdir(cls.run_dir):
            os.rmdir(cls.run_dir)
        shutil.rmtree(cls.tmp, ignore_errors=True)
        leftovers = fleet.host_leftovers()
        if leftovers:
            raise AssertionError("left on the host:\n  " + "\n  ".join(leftovers))

    def run_direct(self, caps, lang="c", source=None, umask=None):
        proc = subprocess.run(
            setpriv_argv(caps) + [fleet.binary("ccx-worker"), "--direct", "--config",
                                  self.config, "--lang", lang, source or self.source],
            capture_output=True, timeout=120,
            preexec_fn=None if umask is None else (lambda: os.umask(umask)))
        try:
            return json.loads(proc.stdout), proc.stderr.decode(errors="replace")
        except ValueError:
            return None, proc.stderr.decode(errors="replace")

    def run_c(self, caps):
        result, log = self.run_direct(caps)
        return (result or {}).get("status"), log

    def test_job_root_is_readable_under_the_unit_umask(self):
        # The unit sets UMask=0077; the job's /etc must still be readable by the job.
        umask = int(one(unit_settings(SUPERVISOR_UNIT), "UMask"), 8)
        self.assertEqual(umask, 0o077)
        script = os.path.join(self.tmp, "etc.sh")
        with open(script, "w") as f:
            f.write("stat -c '%a %n' /etc /etc/passwd && grep -c '^sandbox:' /etc/passwd\n")
        result, log = self.run_direct(CAPS, "sh", script, umask=umask)
        self.assertIsNotNone(result, log)
        self.assertEqual(result["status"], "ok", result)
        self.assertEqual(result["stdout"].split("\n")[:3],
                         ["755 /etc", "644 /etc/passwd", "1"], result)

    def test_the_unit_set_is_enough(self):
        status, log = self.run_c(CAPS)
        self.assertEqual(status, "ok", log)

    def test_each_one_is_needed(self):
        for cap in CAPS:
            with self.subTest(missing=cap):
                status, log = self.run_c([c for c in CAPS if c != cap])
                self.assertNotEqual(status, "ok", f"ran without {cap}:\n{log}")


if __name__ == "__main__":
    unittest.main()
