// Many runs at once through one client: each wait blocks on a connection of its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CcxClient } from '../index.js';
import { client, fleetUrl } from './helpers.js';

let ccx;
before(async () => { ccx = await client(); });
after(async () => { await ccx.close(); });

test('50 concurrent runs, each answered with its own output', async () => {
  const n = 50;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => ccx.run(
    i % 2 ? { language: 'python', source: `print(${i} * 2)\n`, meta: { i } }
      : { language: 'sh', source: `echo $((${i} * 2))\n`, meta: { i } },
    { timeoutMs: 240000 })));
  assert.equal(results.length, n);
  results.forEach((result, i) => {
    assert.equal(result.status, 'ok', `job ${i}: ${result.reason}`);
    assert.equal(result.text, `${i * 2}\n`);
    assert.deepEqual(result.meta, { i });
  });
  assert.equal(new Set(results.map((r) => r.id)).size, n);
});

test('more waits than wait connections take turns', async () => {
  const small = new CcxClient(fleetUrl(), { maxWaitConnections: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => small.run(
      { language: 'sh', source: `echo ${i}\n` }, { timeoutMs: 120000 })));
    assert.deepEqual(results.map((r) => r.text), ['0\n', '1\n', '2\n', '3\n', '4\n', '5\n']);
  } finally {
    await small.close();
  }
});
