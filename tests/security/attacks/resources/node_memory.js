// ccx-attack: allocate and touch Node.js buffers without end, to exhaust the host's memory
// ccx-category: resources
// ccx-status: memory_limit
// ccx-event: memory_limit ^memory_mb=96 oom_kills=[1-9]
// ccx-limits: memory_mb=96 wall_ms=20000
// Buffers live outside the V8 heap, so the cgroup limit, not V8's heap limit, must stop it.
const kept = [];
for (let mb = 0; mb < 4096; mb += 16) {
    kept.push(Buffer.alloc(16 << 20, mb & 0xff)); // filled, so every page is really used
}
console.log("ESCAPED: node kept 4 GiB of buffers");
