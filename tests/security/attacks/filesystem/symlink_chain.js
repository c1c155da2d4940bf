// ccx-attack: chains of relative, absolute and /proc symlinks that try to resolve above the root
// ccx-category: filesystem
// ccx-status: ok
// ccx-steps: 4
const fs = require("fs");
const path = require("path");

// Files every host has and the sandbox's root does not.
const markers = ["etc/shadow", "etc/hostname", "var", "home", "root", "boot"];
const seen = (dir) => markers.filter((m) => {
    try { fs.lstatSync(path.join(dir, m)); return true; } catch (e) { return false; }
});
const report = (step, dir) => {
    let found;
    try {
        fs.readdirSync(dir);  // fails (ELOOP, ENOENT...) if the chain does not resolve
        found = seen(dir);
    } catch (e) {
        console.log(`BLOCKED: ${step}: ${e.code}`);
        return;
    }
    if (found.length) console.log(`ESCAPED: ${step}: shows ${found.join(",")}`);
    else console.log(`BLOCKED: ${step}: resolves inside the sandbox root`);
};

process.chdir("/work");
fs.mkdirSync("/work/d1/d2/d3", { recursive: true });

// A relative link that climbs far more levels than there are.
fs.symlinkSync("../".repeat(40), "/work/d1/d2/d3/up");
report("relative symlink ../ x40", "/work/d1/d2/d3/up");

// Links that point at each other, each adding a level: up1 -> ../.., up2 -> up1/../.. ...
let prev = "..";
for (let i = 1; i <= 30; i++) {
    fs.symlinkSync(`${prev}/..`, `/work/up${i}`);
    prev = `up${i}`;
}
report("30 chained symlinks adding .. each", `/work/${prev}`);

// A link in /tmp to the workspace's parent, reached again through /proc/self/cwd.
fs.symlinkSync("/proc/self/cwd/../../../..", "/tmp/cwdup");
report("symlink to /proc/self/cwd/../../../..", "/tmp/cwdup");

// An absolute link with .. before the root, read as a file.
fs.symlinkSync("/../../../../etc/../etc/shadow", "/work/shadow");
try {
    const data = fs.readFileSync("/work/shadow");
    console.log(`ESCAPED: /../../etc/shadow through a symlink: ${data.length} bytes`);
} catch (e) {
    console.log(`BLOCKED: /../../etc/shadow through a symlink: ${e.code}`);
}
