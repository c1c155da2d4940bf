const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

if (isMainThread) {
  const parts = 4, n = 1e6;
  let done = 0, total = 0;
  for (let i = 0; i < parts; i++) {
    const w = new Worker(__filename, { workerData: { from: (i * n) / parts, to: ((i + 1) * n) / parts } });
    w.on('message', s => {
      total += s;
      if (++done === parts) console.log('total', total);
    });
  }
} else {
  let s = 0;
  for (let i = workerData.from; i < workerData.to; i++) s += i % 7;
  parentPort.postMessage(s);
}
