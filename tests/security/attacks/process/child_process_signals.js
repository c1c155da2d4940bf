// ccx-attack: Node.js child_process: kill the host sentinel, kill -1, leave a detached orphan
// ccx-category: process
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-steps: 4
// ccx-args: {sentinel_pid}
const { execFileSync, spawn } = require("child_process");
const fs = require("fs");
const sentinel = Number(process.argv[2]);
const ours = (pid) => fs.existsSync(`/proc/${pid}`);

function step(name, fn) {
    try {
        fn();
        if (ours(sentinel)) console.log(`BLOCKED: ${name}: pid ${sentinel} is the job's own`);
        else console.log(`ESCAPED: ${name} reached host pid ${sentinel}`);
    } catch (e) {
        console.log(`BLOCKED: ${name}: ${e.code || (e.stderr || "").toString().trim() || e}`);
    }
}

step("process.kill(sentinel)", () => process.kill(sentinel, "SIGKILL"));
step("kill -9 sentinel", () => execFileSync("kill", ["-9", String(sentinel)], { stdio: "pipe" }));
step("bash kill -KILL sentinel", () => execFileSync("bash", ["-c", `kill -KILL ${sentinel}`],
                                                    { stdio: "pipe" }));
// A detached child in its own session, unreferenced: Node exits without waiting for it.
const orphan = spawn("sleep", ["3003"], { detached: true, stdio: "ignore" });
orphan.unref();
setTimeout(() => {
    const stat = fs.readFileSync(`/proc/${orphan.pid}/stat`, "utf8");
    const sid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
    // The suite checks on the host that it did not outlive the job.
    console.log(`BLOCKED: detached orphan ${orphan.pid} (session ${sid}) stays in the job's ` +
                "pid namespace");
}, 200);
