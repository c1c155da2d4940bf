// ccx-attack: become root from Node.js: setuid-root mount, then process.setgroups/setuid/setgid
// ccx-category: privilege
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=mount
// ccx-event: syscall_refused ^syscall=setgroups args=0x1,
// ccx-event: syscall_refused ^syscall=setuid args=0x0,
// ccx-steps: 4
// ccx-limits: wall_ms=30000
// glibc makes every thread of the process repeat a set*id call, so each gives one event per
// thread (Node has several) and the job's first 16 events fill up fast: mount goes first.
const { spawnSync } = require("child_process");

// /usr/bin/mount is setuid root on the host; in the job it must run as the job's uid.
const run = spawnSync("/usr/bin/mount", ["-t", "tmpfs", "none", "/tmp"], { encoding: "utf8" });
const said = `${run.stdout}${run.stderr}`.trim().split("\n")[0];
if (run.status === 0)
    console.log(`ESCAPED: mount -t tmpfs none /tmp: ${said}`);
else
    console.log(`BLOCKED: mount -t tmpfs none /tmp: exit ${run.status}: ${said}`);

for (const [name, call] of [
    ["process.setgroups([0])", () => process.setgroups([0])],
    ["process.setuid(0)", () => process.setuid(0)],
    ["process.setgid(0)", () => process.setgid(0)],
]) {
    try {
        call();
        console.log(`ESCAPED: ${name}: uid ${process.getuid()} gid ${process.getgid()}`);
    } catch (e) {
        console.log(`BLOCKED: ${name}: ${e.code || e.message}`);
    }
}
