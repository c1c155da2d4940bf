// submit, wait, run and result against a real fleet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CcxClient } from '../index.js';
import { client } from './helpers.js';

let ccx;
before(async () => { ccx = await client(); });
after(async () => { await ccx.close(); });

test('hello world in python', async () => {
  const result = await ccx.run({ language: 'python', source: "print('hello from python')\n" },
    { timeoutMs: 120000 });
  assert.equal(result.status, 'ok');
  assert.ok(result.ok);
  assert.ok(Buffer.isBuffer(result.stdout));
  assert.ok(Buffer.isBuffer(result.stderr));
  assert.deepEqual(result.stdout, Buffer.from('hello from python\n'));
  assert.equal(result.text, 'hello from python\n');
  assert.equal(result.stdoutText, 'hello from python\n');
  assert.equal(result.stderrText, '');
  assert.equal(result.exit_code, 0);
  assert.equal(result.tenant, 'default');
  assert.equal(result.attempt, 1);
  assert.equal(result.check(), result);
  // The helpers are not fields: the object's own keys are the protocol's.
  assert.ok(!Object.keys(result).includes('text'));
  assert.ok(Object.keys(result).includes('wall_ms'));
});

test('hello world in node', async () => {
  const result = await ccx.run({ language: 'node', source: "console.log('hello from node', 6 * 7);\n" },
    { timeoutMs: 120000 });
  assert.equal(result.status, 'ok', result.reason);
  assert.equal(result.text, 'hello from node 42\n');
});

test('stdin as a string and as a Buffer', async () => {
  const source = 'import sys\nprint(sum(map(int, sys.stdin.read().split())))\n';
  assert.equal((await ccx.run({ language: 'python', source, stdin: '1 2 3\n' })).text, '6\n');
  const bytes = await ccx.run({ language: 'sh', source: Buffer.from('wc -c\n'),
    stdin: Buffer.from([0, 1, 2, 255]) });
  assert.equal(bytes.text.trim(), '4');
});

test('submit with every field, then wait and look up', async () => {
  const meta = { ticket: 7, tags: ['a', 'b'], nested: { ok: true } };
  const deadline = await ccx.deadlineIn(600000);
  const id = await ccx.submit({
    id: 'node-client-every-field',
    language: 'python',
    files: new Map([
      ['main.py', 'import sys, helper\nhelper.go(sys.argv[1:], sys.stdin.read())\n'],
      ['helper.py', Buffer.from("def go(args, text):\n    print('|'.join(args), text.upper(), end='')\n"
        + "    import sys; sys.stderr.buffer.write(b'err\\xff')\n")],
    ]),
    main: 'main.py',
    stdin: 'abc\n',
    args: ['one', 'two words'],
    limits: { wall_ms: 5000, memory_mb: 128 },
    tenant: 'acme.node-1',
    meta,
    deadline,
    maxAttempts: 2,
  });
  assert.equal(id, 'node-client-every-field');
  const result = await ccx.wait(id, { timeoutMs: 120000 });
  assert.equal(result.status, 'ok', result.reason);
  assert.equal(result.id, id);
  assert.equal(result.text, 'one|two words ABC\n');
  assert.deepEqual(result.stderr, Buffer.from([0x65, 0x72, 0x72, 0xff])); // bytes as written
  assert.equal(result.stderrText, 'err\ufffd');
  assert.equal(result.tenant, 'acme.node-1');
  assert.deepEqual(result.meta, meta);
  // The reply was popped: a second wait and a lookup find the stored result.
  const again = await ccx.wait(id, { timeoutMs: 5000 });
  assert.deepEqual(again, result);
  assert.deepEqual(await ccx.result(id), result);
});

test('result lookup: null before an answer, the result after', async () => {
  assert.equal(await ccx.result('node-never-submitted'), null);
  const id = await ccx.submit({ language: 'sh', source: 'sleep 1; echo done\n' });
  assert.equal(await ccx.result(id), null);
  const waited = await ccx.wait(id, { timeoutMs: 60000 });
  assert.equal(waited.text, 'done\n');
  const looked = await ccx.result(id);
  assert.deepEqual(looked, waited);
  assert.equal(looked.text, 'done\n');
});

test('two clients waiting on one job both get it', async () => {
  const id = await ccx.submit({ language: 'sh', source: 'sleep 1; echo both\n' });
  const other = new CcxClient(process.env.CCX_REDIS_URL);
  try {
    const started = Date.now();
    const [a, b] = await Promise.all([ccx.wait(id), other.wait(id)]);
    assert.deepEqual(a, b);
    assert.equal(a.text, 'both\n');
    assert.ok(Date.now() - started < 30000); // within a BLPOP slice, not at the timeout
  } finally {
    await other.close();
  }
});

test('a rejected job is returned, not thrown; check() throws', async () => {
  const result = await ccx.run({ language: 'python', source: 'print(1)\n',
    limits: { wall_ms: 1e9 } });
  assert.equal(result.status, 'rejected');
  assert.equal(result.ok, false);
  assert.match(result.reason, /wall_ms/);
  assert.match(result.reason, /ceiling/);
  assert.throws(() => result.check(), (error) => {
    assert.equal(error.name, 'CcxJobFailedError');
    assert.equal(error.status, 'rejected');
    assert.equal(error.result, result);
    assert.match(error.message, /ended rejected: .*ceiling/);
    return true;
  });
  const unknown = await ccx.run({ language: 'cobol', source: "DISPLAY 'HI'.\n" });
  assert.equal(unknown.status, 'rejected');
  assert.match(unknown.reason, /cobol/);
});

test('an error exit is returned with its code', async () => {
  const result = await ccx.run({ language: 'sh', source: 'echo oops >&2; exit 3\n' });
  assert.equal(result.status, 'error_exit');
  assert.equal(result.exit_code, 3);
  assert.equal(result.stderrText, 'oops\n');
  assert.throws(() => result.check(), /error_exit \(exit code 3\)/);
});
