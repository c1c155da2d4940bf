// ccx-attack: open directories (the /usr bind, /work) and climb out through /proc/self/fd/N/..
// ccx-category: filesystem
// ccx-status: ok
// ccx-steps: 4
const fs = require("fs");
const { execFileSync } = require("child_process");

// Files every host has and the sandbox's root does not.
const markers = ["etc/shadow", "etc/hostname", "var", "home", "root", "boot"];
const root = fs.statSync("/");
const judge = (step, dir) => {
    try {
        const found = markers.filter((m) => fs.existsSync(`${dir}/${m}`));
        if (found.length) return console.log(`ESCAPED: ${step}: shows ${found.join(",")}`);
        const st = fs.statSync(dir);
        if (st.ino !== root.ino || st.dev !== root.dev) {
            return console.log(`ESCAPED: ${step}: a root other than the sandbox's`);
        }
        console.log(`BLOCKED: ${step}: back at the sandbox root`);
    } catch (e) {
        console.log(`BLOCKED: ${step}: ${e.code}`);
    }
};
const up = "/..".repeat(20);

// /usr is a bind of a directory of the host's disk: its .. must be our root, not the disk's.
const usr = fs.openSync("/usr/bin", "r");
judge("/proc/self/fd/<fd of /usr/bin>/..", `/proc/self/fd/${usr}${up}`);
const work = fs.openSync("/work", "r");
judge("/proc/self/fd/<fd of /work>/..", `/proc/self/fd/${work}${up}`);
// The same through /proc/thread-self, another name of the fd table.
judge("/proc/thread-self/fd/<fd>/..", `/proc/thread-self/fd/${usr}${up}`);
// A shell that inherits the descriptor (as its stdin) and makes it its cwd before climbing.
try {
    const out = execFileSync("/bin/sh", ["-c", `cd /proc/self/fd/0${up} && ls -a`],
        { stdio: [usr, "pipe", "pipe"], encoding: "utf8" }).split("\n");
    const found = ["var", "home", "root", "boot"].filter((m) => out.includes(m));
    if (found.length) console.log(`ESCAPED: child cd /proc/self/fd/0/..: shows ${found}`);
    else console.log(`BLOCKED: child cd /proc/self/fd/0/..: only the sandbox root`);
} catch (e) {
    console.log(`BLOCKED: child cd /proc/self/fd/0/..: ${e.message.split("\n")[0]}`);
}
