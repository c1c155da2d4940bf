async function retry(fn, times) {
  for (let i = 0; i < times; i++) {
    try { return await fn(i); } catch (e) { console.log('attempt', i, 'failed:', e.message); }
  }
  throw new Error('all attempts failed');
}
retry(async i => { if (i < 2) throw new Error('not yet'); return 'ok'; }, 5).then(console.log);
