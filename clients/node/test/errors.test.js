// The typed errors: a timeout, an invalid job caught before sending, Redis out of reach,
// a closed client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createClient } from 'redis';
import {
  CcxClient, CcxConnectionError, CcxError, CcxInvalidJobError, CcxTimeoutError, connect,
} from '../index.js';
import { client, fleetUrl } from './helpers.js';

let ccx;
before(async () => { ccx = await client(); });
after(async () => { await ccx.close(); });

test('wait times out with CcxTimeoutError naming the job and the time', async () => {
  const id = await ccx.submit({ language: 'sh', source: 'sleep 3; echo late\n' });
  const started = Date.now();
  await assert.rejects(ccx.wait(id, { timeoutMs: 500 }), (error) => {
    assert.ok(error instanceof CcxTimeoutError);
    assert.ok(error instanceof CcxError);
    assert.equal(error.name, 'CcxTimeoutError');
    assert.equal(error.jobId, id);
    assert.equal(error.waitedMs, 500);
    assert.match(error.message, new RegExp(`job '${id}' within 500 ms`));
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took >= 500 && took < 2500, `took ${took} ms`);
  // The job goes on; waiting again gets its result.
  assert.equal((await ccx.wait(id, { timeoutMs: 60000 })).text, 'late\n');
});

test('run times out too', async () => {
  await assert.rejects(ccx.run({ language: 'sh', source: 'sleep 4\n' }, { timeoutMs: 1000 }),
    CcxTimeoutError);
});

test('invalid jobs are refused before anything is sent', async (t) => {
  const raw = await createClient({ url: fleetUrl() }).on('error', () => {}).connect();
  t.after(() => raw.destroy());
  // Entries ever added to ccx:jobs (answered ones are deleted, so XLEN would not do).
  const added = async () => {
    const info = await raw.sendCommand(['XINFO', 'STREAM', 'ccx:jobs']);
    const count = Array.isArray(info) ? info[info.indexOf('entries-added') + 1]
      : info['entries-added'];
    assert.ok(Number.isInteger(count), `entries-added: ${count}`);
    return count;
  };
  const before = await added();
  const cases = [
    [{ language: 'python', source: 'x', stdn: 'a' }, /unknown job field 'stdn' \(did you mean 'stdin'\?\)/],
    [{ language: 'python', source: 'x', max_attempts: 2 }, /did you mean 'maxAttempts'/],
    [{ language: 'python', source: 'x', id: 'bad id!' }, /job id 'bad id!' is not valid/],
    [{ language: 'python', source: 'x', id: 'x'.repeat(129) }, /1 to 128/],
    [{ language: 'python', source: 'x', id: '' }, /job id '' is not valid/],
    [{ language: 'python', source: 'x', files: { 'a.py': 'x' }, main: 'a.py' }, /not both/],
    [{ language: 'python' }, /give source, or files with main/],
    [{ language: 'python', files: { 'a.py': 'x' } }, /main is missing/],
    [{ language: 'python', files: { 'a.py': 'x' }, main: 'b.py' }, /does not name one of files/],
    [{ language: 'python', source: 'x', main: 'main.py' }, /main goes with files/],
    [{ language: 'python', files: { '../a.py': 'x' }, main: '../a.py' }, /not a valid path/],
    [{ language: 'python', files: { '-a': 'x' }, main: '-a' }, /not a valid path/],
    [{ language: 'python', source: 'x', limits: { wall_s: 5 } }, /did you mean 'wall_ms'/],
    [{ language: 'python', source: 'x', limits: { wall_ms: 0 } }, /positive integer/],
    [{ language: 'python', source: 'x', limits: { wall_ms: 1.5 } }, /positive integer/],
    [{ language: 'python', source: 'x', tenant: 'a b' }, /tenant 'a b' is not valid/],
    [{ language: 'python', source: 'x', args: 'one' }, /args must be an array/],
    [{ language: 'python', source: 'x', args: ['a\0b'] }, /without NUL/],
    [{ language: 'python', source: 'x', deadline: -1 }, /deadline/],
    [{ language: 'python', source: 'x', maxAttempts: 0 }, /maxAttempts/],
    [{ language: '', source: 'x' }, /language/],
    [{ language: 'python', source: 42 }, /source must be/],
  ];
  for (const [job, message] of cases) {
    await assert.rejects(ccx.submit(job), (error) => {
      assert.ok(error instanceof CcxInvalidJobError, `${JSON.stringify(job)}: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  }
  await assert.rejects(ccx.wait('no spaces', { timeoutMs: 100 }), CcxInvalidJobError);
  await assert.rejects(ccx.wait('fine-id', { timeoutMs: 0 }), /timeoutMs must be above 0/);
  await assert.rejects(ccx.wait('fine-id', { timeout: 5 }), /unknown wait option 'timeout'/);
  await assert.rejects(ccx.cancel('a/b'), CcxInvalidJobError);
  await assert.rejects(ccx.result(''), CcxInvalidJobError);
  assert.equal(await added(), before);
});

async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

test('Redis out of reach: CcxConnectionError with the URL, password hidden', async (t) => {
  const url = `redis://:hunter2@127.0.0.1:${await freePort()}/0`;
  await assert.rejects(connect(url), CcxConnectionError);
  const down = new CcxClient(url, { connectTimeoutMs: 2000 });
  t.after(() => down.close());
  const calls = [
    () => down.submit({ language: 'python', source: 'print(1)\n' }),
    () => down.wait('some-job', { timeoutMs: 1000 }),
    () => down.run({ language: 'python', source: 'print(1)\n' }),
    () => down.result('some-job'),
    () => down.cancel('some-job'),
    () => down.ping(),
  ];
  for (const call of calls) {
    const started = Date.now();
    await assert.rejects(call(), (error) => {
      assert.ok(error instanceof CcxConnectionError, String(error));
      assert.equal(error.url, url.replace('hunter2', '***'));
      assert.match(error.message, /^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: .*ECONNREFUSED/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, 'a refused connection is told at once');
  }
});

test('a closed client refuses calls; closing twice is fine', async (t) => {
  const other = await client();
  t.after(() => other.close());
  const id = await other.submit({ language: 'python', source: 'print(1)\n' });
  await other.close();
  await other.close();
  await assert.rejects(other.result(id), /closed/);
  await assert.rejects(other.submit({ language: 'sh', source: 'true' }), CcxError);
  assert.equal((await ccx.wait(id, { timeoutMs: 60000 })).status, 'ok');
});
