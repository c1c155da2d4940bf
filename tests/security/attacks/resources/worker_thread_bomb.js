// ccx-attack: start worker threads without end, each parked forever, to exhaust host tasks
// ccx-category: resources
// ccx-status: pids_limit
// ccx-event: pids_limit ^pids=32 refused_forks=[1-9]
// ccx-limits: pids=32 wall_ms=20000
const { Worker } = require("worker_threads");

// Each worker blocks on a shared word that nobody ever changes.
const park = "const [w] = require('worker_threads').workerData;" +
    "Atomics.wait(new Int32Array(w), 0, 0);";
const word = new SharedArrayBuffer(4);
let started = 0;

function blocked(why) {
    console.log(`BLOCKED: thread bomb: worker ${started + 1} refused: ${why}`);
    process.exit(1);
}

function next() {
    if (started >= 1000) {
        console.log(`ESCAPED: thread bomb: ${started} worker threads alive at once`);
        process.exit(1);
    }
    let worker;
    try {
        worker = new Worker(park, { eval: true, workerData: [word] });
    } catch (e) {
        blocked(e.message);
    }
    worker.on("error", (e) => blocked(e.message));
    worker.on("online", () => { started++; next(); });
}
next();
