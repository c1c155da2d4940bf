// cancel() of a running job, a queued one, a finished one and an unknown one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitRunning } from './helpers.js';

let ccx;
before(async () => { ccx = await client(); });
after(async () => { await ccx.close(); });

test('a running job is killed and answered cancelled', async () => {
  const id = await ccx.submit({ language: 'sh', source: 'sleep 60; echo never\n',
    limits: { wall_ms: 90000 } });
  await waitRunning(id);
  const askedAt = Date.now();
  assert.equal(await ccx.cancel(id), 'running');
  const result = await ccx.wait(id, { timeoutMs: 30000 });
  assert.equal(result.status, 'cancelled');
  assert.equal(result.reason, 'cancelled by its client while it ran');
  assert.equal(result.text, '');
  // The fleet's lease_ms is 3000: a beat of 1 s, plus the kill.
  assert.ok(Date.now() - askedAt < 10000, `answered after ${Date.now() - askedAt} ms`);
  assert.equal(await ccx.cancel(id), 'finished');
  assert.equal(await ccx.cancel('node-never-sent'), 'unknown');
});

test('a queued job never runs and is answered cancelled', async () => {
  // The fleet has two workers: two sleepers hold them, so the third job waits.
  const blockers = [];
  for (let i = 0; i < 2; i++) {
    blockers.push(await ccx.submit({ language: 'sh', source: 'sleep 3; echo blocker\n' }));
  }
  await Promise.all(blockers.map((id) => waitRunning(id)));
  const id = await ccx.submit({ language: 'sh', source: 'echo should-not-run\n' });
  assert.equal(await ccx.cancel(id), 'pending');
  for (const blocker of blockers) {
    assert.equal((await ccx.wait(blocker, { timeoutMs: 30000 })).text, 'blocker\n');
  }
  const result = await ccx.wait(id, { timeoutMs: 30000 });
  assert.equal(result.status, 'cancelled');
  assert.equal(result.reason, 'cancelled by its client before it started');
  assert.equal(result.stdout.length, 0);
});
