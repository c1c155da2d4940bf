// ccx-attack: look in /tmp, /dev/shm and /work for other jobs' files, then leave some behind
// ccx-category: leak
// ccx-status: ok
// ccx-steps: 3
// Runs last of the leak attacks, a_tmp_first.py first: each leaves a ccx-leftover-* file in
// every directory, which a later job would find if the directories outlived a job.
const crypto = require("crypto");
const fs = require("fs");

const own = { "/work": ["main.js"] }; // the job's own source, written by the worker

for (const folder of ["/tmp", "/dev/shm", "/work"]) {
    const found = fs.readdirSync(folder).filter((n) => !(own[folder] || []).includes(n));
    if (found.length)
        console.log(`ESCAPED: ${folder} holds files of someone else: ${found.sort()}`);
    else
        console.log(`BLOCKED: ${folder}: nothing but the job's own files`);
    const leftover = `${folder}/ccx-leftover-${crypto.randomBytes(6).toString("hex")}`;
    fs.writeFileSync(leftover, "left by z_tmp_last.js for the next job to find\n");
}
