async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

const sleep = (ms, v) => new Promise(r => setTimeout(() => r(v), ms));
pool([1, 2, 3, 4, 5].map(n => () => sleep(10 * n, n * n)), 2).then(r => console.log(r));
