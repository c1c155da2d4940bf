// ccx-attack: write the 8 MiB workspace full, in many files, to exhaust the host's disk
// ccx-category: resources
// ccx-status: ok
// ccx-no-event: memory_limit
// ccx-steps: 1
// ccx-limits: disk_mb=8 wall_ms=20000
// Files of 1 MiB: ENOSPC at the tmpfs size, never EFBIG from RLIMIT_FSIZE.
const fs = require("fs");

const MiB = 1 << 20;
const chunk = Buffer.alloc(MiB, 0x5a);
let written = 0;
try {
    for (let n = 0; written < 256 * MiB; n++) {
        const fd = fs.openSync(`/work/fill-${n}`, "w");
        try {
            for (let done = 0; done < MiB;)
                done += fs.writeSync(fd, chunk, done);
        } finally {
            written += fs.fstatSync(fd).size;
            fs.closeSync(fd);
        }
    }
    console.log(`ESCAPED: the workspace took ${written / MiB} MiB`);
} catch (e) {
    const got = `${e.code} after ${written / 1024} KiB`;
    if (e.code === "ENOSPC" && written <= 8 * MiB)
        console.log(`BLOCKED: fill the workspace: ${got}`);
    else
        console.log(`ESCAPED: fill the workspace: ${got}`);
}
