// ccx-attack: connect to the host's unix socket by its host path, and look for the file
// ccx-category: network
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-no-event: syscall_refused
// ccx-steps: 2
// ccx-args: {unix_path}
const fs = require("fs");
const net = require("net");
const path = process.argv[2];

// The host's tree is not mounted in the sandbox: the path simply does not exist. The path
// itself is never printed: it names the host's directory, which the suite treats as secret.
if (fs.existsSync(path)) console.log("ESCAPED: the host's socket path is visible in the sandbox");
else console.log("BLOCKED: stat the host's socket path: not there");

const sock = net.connect(path);
sock.on("connect", () => {
    console.log("ESCAPED: connected to the host's unix socket");
    sock.destroy();
});
sock.on("error", (e) => {
    const verdict = e.code === "ENOENT" ? "BLOCKED" : "UNEXPECTED";
    console.log(`${verdict}: connect to the host's socket path: ${e.code}`);
});
