// ccx-client: puts jobs on ccx:jobs, waits for their results, cancels them (docs/PROTOCOL.md).
//
//   import { connect } from 'ccx-client';
//   const ccx = await connect('redis://127.0.0.1:6379');
//   const result = await ccx.run({ language: 'python', source: 'print(6 * 7)' });
//   console.log(result.status, result.text);   // ok 42
//   await ccx.close();
//
// An ES module. Results are plain objects of the protocol's result map (strings for text,
// Buffers for stdout/stderr and the compile step's, the status as the protocol's string),
// with non-enumerable helpers: text (= stdoutText), stdoutText, stderrText, ok, check().
// Every status, 'rejected' and 'internal_error' included, is returned, not thrown;
// result.check() throws CcxJobFailedError unless the status is 'ok'.

import { createClient, ErrorReply, RESP_TYPES } from 'redis';
import { decode, encode } from '@msgpack/msgpack';
import { randomUUID } from 'node:crypto';

export const JOBS_STREAM = 'ccx:jobs';
export const RESULT_PREFIX = 'ccx:result:';
export const REPLY_PREFIX = 'ccx:reply:';
export const CANCEL_PREFIX = 'ccx:cancel:';
export const LEASE_PREFIX = 'ccx:lease:';
export const CANCEL_TTL_S = 86400; // the shipped result_ttl_s
export const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Every status a result can have (docs/PROTOCOL.md, Statuses). */
export const STATUSES = Object.freeze([
  'ok', 'error_exit', 'signaled', 'timeout', 'cpu_limit', 'memory_limit', 'pids_limit',
  'output_limit', 'policy_violation', 'compile_error', 'rejected', 'internal_error',
  'cancelled', 'expired', 'dead_letter',
]);
/** The limits a job may set, each a positive integer. */
export const LIMITS = Object.freeze(['wall_ms', 'cpu_ms', 'memory_mb', 'pids', 'output_bytes',
  'disk_mb']);
/** What cancel() answers. */
export const CANCEL_ANSWERS = Object.freeze(['pending', 'running', 'finished', 'unknown']);

const JOB_FIELDS = ['language', 'source', 'files', 'main', 'stdin', 'args', 'limits', 'tenant',
  'meta', 'deadline', 'maxAttempts', 'id'];
const JOB_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TENANT = /^[A-Za-z0-9._-]{1,64}$/;
// How long one BLPOP blocks before the stored result is read again: a reply is pushed once,
// so a second waiter on one job finds the stored result within this.
const WAIT_SLICE_MS = 2000;

// The same script as `ccx cancel` (clients/cli/ccx.c) and the Python client.
const CANCEL_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'finished' end
if ARGV[1] == '' or #redis.call('XRANGE', KEYS[3], ARGV[1], ARGV[1]) == 0 then
    return 'unknown'
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
if redis.call('HGET', KEYS[4], 'state') == 'running' then return 'running' end
return 'pending'
`;

// ---- errors ----------------------------------------------------------------------------

/** Base class of every error this module throws. */
export class CcxError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A job refused before it was sent: nothing was added to ccx:jobs. */
export class CcxInvalidJobError extends CcxError {}

/** No result came for jobId within waitedMs. The job may still run: wait() again. */
export class CcxTimeoutError extends CcxError {
  constructor(jobId, waitedMs) {
    super(`no result for job '${jobId}' within ${waitedMs} ms`);
    this.jobId = jobId;
    this.waitedMs = waitedMs;
  }
}

/** Redis could not be reached, or the connection broke, at url (password hidden). */
export class CcxConnectionError extends CcxError {
  constructor(url, cause) {
    super(`cannot reach Redis at ${url}: ${describe(cause)}`, { cause });
    this.url = url;
  }
}

/** Thrown by result.check() for any status but 'ok'; .result is the result. */
export class CcxJobFailedError extends CcxError {
  constructor(result) {
    let text = `job '${result.id}' ended ${result.status}`;
    if (result.reason) text += `: ${result.reason}`;
    else if (result.status === 'error_exit' && result.exit_code != null) {
      text += ` (exit code ${result.exit_code})`;
    } else if (result.signal_name) text += ` (${result.signal_name})`;
    super(text);
    this.result = result;
    this.status = result.status;
  }
}

function describe(error) {
  if (!error) return 'unknown error';
  // AggregateError (both ::1 and 127.0.0.1 refused, for localhost) keeps its reasons inside.
  if (!error.message && Array.isArray(error.errors)) {
    return error.errors.map((e) => e.message).join('; ');
  }
  return error.message || error.code || String(error);
}

function redact(url) {
  return String(url).replace(/^([a-z+-]+:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

// ---- jobs ------------------------------------------------------------------------------

function isBytes(value) {
  return typeof value === 'string' || value instanceof Uint8Array;
}

function asBytes(value) {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function positiveInt(name, value) {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new CcxInvalidJobError(`${name} must be a positive integer, not ${show(value)}`);
  }
  return value;
}

function show(value) {
  try {
    return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// The closest known name, for "did you mean": a small edit distance.
function closest(name, known) {
  const distance = (a, b) => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const saved = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1,
          previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        previous = saved;
      }
    }
    return row[b.length];
  };
  let best = null;
  for (const candidate of known) {
    const d = distance(String(name), candidate);
    if (d <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || d < best.d)) {
      best = { candidate, d };
    }
  }
  return best ? ` (did you mean '${best.candidate}'?)` : '';
}

/** Throws CcxInvalidJobError unless id is 1 to 128 of A-Z a-z 0-9 . _ : - */
export function checkJobId(id) {
  if (typeof id !== 'string' || !JOB_ID.test(id)) {
    throw new CcxInvalidJobError(
      `job id ${show(id)} is not valid: 1 to 128 characters of A-Z a-z 0-9 . _ : -`);
  }
  return id;
}

function checkPath(path) {
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes === 0 || bytes > 255 || path.includes('\0') || path[0] === '/' || path[0] === '-'
      || path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new CcxInvalidJobError(`files: '${path}' is not a valid path (1 to 255 bytes, no NUL, `
      + "not starting with '/' or '-', no empty, '.' or '..' part)");
  }
}

/**
 * The job map (ready for msgpack) of a job object, checked as far as a client can without
 * the workers' config: ceilings and languages are theirs to check (a job over a ceiling
 * comes back 'rejected'). Throws CcxInvalidJobError.
 */
export function buildJob(job) {
  if (job === null || typeof job !== 'object' || Array.isArray(job)) {
    throw new CcxInvalidJobError('a job is an object: { language, source, ... }');
  }
  for (const name of Object.keys(job)) {
    if (!JOB_FIELDS.includes(name)) {
      throw new CcxInvalidJobError(`unknown job field '${name}'${closest(name, JOB_FIELDS)}; `
        + `known: ${JOB_FIELDS.join(', ')}`);
    }
  }
  const { language, source, files, main, stdin, args, limits, tenant, meta, deadline,
    maxAttempts, id } = job;
  if (typeof language !== 'string' || language === '') {
    throw new CcxInvalidJobError(`language must be a non-empty string, not ${show(language)}`);
  }
  const out = { id: id === undefined ? randomUUID().replaceAll('-', '') : checkJobId(id),
    language };
  if (source != null && files != null) {
    throw new CcxInvalidJobError('give either source or files (with main), not both');
  }
  if (source == null && files == null) {
    throw new CcxInvalidJobError('give source, or files with main');
  }
  if (source != null) {
    if (!isBytes(source)) {
      throw new CcxInvalidJobError('source must be a string, a Buffer or a Uint8Array');
    }
    if (main != null) {
      throw new CcxInvalidJobError("main goes with files; with source the entry file is the "
        + "language's own (main.py, main.js...)");
    }
    out.source = asBytes(source);
  } else {
    const entries = files instanceof Map ? [...files.entries()]
      : (typeof files === 'object' && !Array.isArray(files) ? Object.entries(files) : null);
    if (!entries || entries.length === 0) {
      throw new CcxInvalidJobError('files must be a non-empty object (or Map) of path -> '
        + 'string or Buffer');
    }
    out.files = {};
    for (const [path, content] of entries) {
      if (typeof path !== 'string') throw new CcxInvalidJobError('files: paths are strings');
      checkPath(path);
      if (!isBytes(content)) {
        throw new CcxInvalidJobError(`files['${path}'] must be a string or a Buffer`);
      }
      out.files[path] = asBytes(content);
    }
    if (main == null) {
      throw new CcxInvalidJobError('main is missing: with files it names the entry file');
    }
    if (!Object.hasOwn(out.files, main)) {
      throw new CcxInvalidJobError(`main ${show(main)} does not name one of files`);
    }
    out.main = main;
  }
  if (stdin != null) {
    if (!isBytes(stdin)) {
      throw new CcxInvalidJobError('stdin must be a string, a Buffer or a Uint8Array');
    }
    out.stdin = asBytes(stdin);
  }
  if (args != null) {
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' && !a.includes('\0'))) {
      throw new CcxInvalidJobError('args must be an array of strings without NUL characters');
    }
    out.args = [...args];
  }
  if (limits != null) {
    if (typeof limits !== 'object' || Array.isArray(limits)) {
      throw new CcxInvalidJobError('limits must be an object of limit name -> positive integer');
    }
    out.limits = {};
    for (const [name, value] of Object.entries(limits)) {
      if (!LIMITS.includes(name)) {
        throw new CcxInvalidJobError(`limits: '${name}' is not a known limit`
          + `${closest(name, LIMITS)}; known: ${LIMITS.join(', ')}`);
      }
      out.limits[name] = positiveInt(`limits.${name}`, value);
    }
  }
  if (tenant != null) {
    if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
      throw new CcxInvalidJobError(
        `tenant ${show(tenant)} is not valid: 1 to 64 characters of A-Z a-z 0-9 . _ -`);
    }
    out.tenant = tenant;
  }
  if (meta !== undefined && meta !== null) out.meta = meta;
  if (deadline != null) {
    out.deadline = positiveInt("deadline (ms since the epoch, on Redis's clock)", deadline);
  }
  if (maxAttempts != null) out.max_attempts = positiveInt('maxAttempts', maxAttempts);
  return out;
}

/** A job map as the msgpack bytes of the stream entry's `job` field. */
export function encodeJob(jobMap) {
  try {
    return Buffer.from(encode(jobMap, { ignoreUndefined: true }));
  } catch (error) {
    throw new CcxInvalidJobError(`the job cannot be encoded as msgpack (meta?): ${error.message}`,
      { cause: error });
  }
}

// ---- results ---------------------------------------------------------------------------

function toBuffer(value) {
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.alloc(0);
}

const helpers = {
  stdoutText: { get() { return this.stdout.toString('utf8'); } },
  stderrText: { get() { return this.stderr.toString('utf8'); } },
  text: { get() { return this.stdout.toString('utf8'); } },
  ok: { get() { return this.status === 'ok'; } },
  check: {
    value: function check() {
      if (this.status !== 'ok') throw new CcxJobFailedError(this);
      return this;
    },
  },
};

/**
 * A result from its msgpack bytes: a plain object of the result map, stdout and stderr as
 * Buffers (the compile step's too), with non-enumerable text, stdoutText, stderrText (UTF-8,
 * invalid bytes as U+FFFD), ok and check().
 */
export function decodeResult(data) {
  const result = decode(data);
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new CcxError('a stored result is not a msgpack map');
  }
  result.stdout = toBuffer(result.stdout);
  result.stderr = toBuffer(result.stderr);
  if (result.compile && typeof result.compile === 'object') {
    result.compile.stdout = toBuffer(result.compile.stdout);
    result.compile.stderr = toBuffer(result.compile.stderr);
  }
  return Object.defineProperties(result, helpers);
}

// ---- the client ------------------------------------------------------------------------

/**
 * A connection to one ccx fleet's Redis. new CcxClient(url) connects on first use (or at
 * connect()); url defaults to $CCX_REDIS_URL, else redis://127.0.0.1:6379.
 *
 * Options: connectTimeoutMs (5000), maxWaitConnections (64: waits blocked at once, each on
 * a connection of its own; more wait their turn within their timeout).
 */
export class CcxClient {
  constructor(url = process.env.CCX_REDIS_URL || DEFAULT_URL, options = {}) {
    const unknown = Object.keys(options).filter(
      (k) => !['connectTimeoutMs', 'maxWaitConnections'].includes(k));
    if (unknown.length) {
      throw new CcxInvalidJobError(`unknown CcxClient option '${unknown[0]}'; known: `
        + 'connectTimeoutMs, maxWaitConnections');
    }
    if (typeof url !== 'string') throw new CcxInvalidJobError('url must be a string');
    this.url = redact(url);
    this._rawUrl = url;
    this._connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this._maxWait = positiveInt('maxWaitConnections', options.maxWaitConnections ?? 64);
    this._main = null; // { client, ready: Promise }
    this._idle = []; // connected blocking clients, free
    this._blocking = new Set(); // every blocking client, busy or idle
    this._queue = []; // waits for a blocking client: resolve functions
    this._entries = new Map(); // job id -> stream entry id, for jobs submitted here
    this._closed = false;
  }

  _newClient() {
    let everReady = false;
    const client = createClient({
      url: this._rawUrl,
      socket: {
        connectTimeout: this._connectTimeoutMs,
        // The first connect fails at once, so an unreachable Redis is told at once; a lost
        // connection is tried again for about 10 s, then the client gives up.
        reconnectStrategy: (retries, cause) => {
          if (!everReady || retries >= 12 || this._closed) {
            // connect() rejects with what this returns; _connected() wraps it once.
            return cause instanceof Error ? cause : new Error('reconnecting gave up');
          }
          return Math.min(50 * 2 ** retries, 1000);
        },
      },
    }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    client.on('ready', () => { everReady = true; });
    // Errors reach the caller through the command that failed; the event must be listened
    // to, or node would throw it.
    client.on('error', () => {});
    return client;
  }

  async _connected(client) {
    try {
      await client.connect();
    } catch (error) {
      throw error instanceof CcxConnectionError ? error : new CcxConnectionError(this.url, error);
    }
    return client;
  }

  /** Connects now (calls connect by themselves otherwise). Resolves to the client itself. */
  async connect() {
    await this._mainClient();
    return this;
  }

  async _mainClient() {
    if (this._closed) throw new CcxError('this ccx client is closed');
    if (this._main && !this._main.client.isOpen && this._main.settled) this._main = null;
    if (!this._main) {
      const client = this._newClient();
      const main = { client, settled: false };
      main.ready = this._connected(client).then(
        (c) => { main.settled = true; return c; },
        (error) => { if (this._main === main) this._main = null; throw error; });
      this._main = main;
    }
    return this._main.ready;
  }

  // Runs fn(client) and turns what failed into CcxConnectionError or CcxError.
  async _call(fn, client) {
    try {
      return await fn(client ?? await this._mainClient());
    } catch (error) {
      throw this._wrap(error);
    }
  }

  _wrap(error) {
    if (error instanceof CcxError) return error;
    if (this._closed) return new CcxError('this ccx client is closed', { cause: error });
    if (error instanceof ErrorReply) {
      return new CcxError(`Redis at ${this.url} answered an error: ${error.message}`,
        { cause: error });
    }
    return new CcxConnectionError(this.url, error);
  }

  async _acquire(deadline) {
    for (;;) {
      if (this._closed) throw new CcxError('this ccx client is closed');
      const idle = this._idle.pop();
      if (idle) {
        if (idle.isReady) return idle;
        this._drop(idle);
        continue;
      }
      if (this._blocking.size < this._maxWait) {
        const client = this._newClient();
        this._blocking.add(client);
        try {
          return await this._connected(client);
        } catch (error) {
          this._drop(client);
          throw error;
        }
      }
      const left = deadline === null ? null : deadline - Date.now();
      if (left !== null && left <= 0) return null;
      await new Promise((resolve) => {
        const entry = { resolve, timer: null };
        if (left !== null) {
          entry.timer = setTimeout(() => {
            this._queue.splice(this._queue.indexOf(entry), 1);
            resolve();
          }, left);
        }
        this._queue.push(entry);
      });
    }
  }

  _release(client) {
    if (this._closed || !client.isReady) this._drop(client);
    else this._idle.push(client);
    const next = this._queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve();
    }
  }

  _drop(client) {
    this._blocking.delete(client);
    if (client.isOpen) client.destroy();
  }

  /**
   * Enqueues a job; resolves to its id.
   *
   * job: { language, source } or { language, files, main }, and optionally stdin, args,
   * limits, tenant, meta, deadline, maxAttempts, id. source, stdin and the files' contents
   * are strings (UTF-8) or Buffers; files is an object or a Map of path -> content; main
   * names the entry file among them; args an array of strings; limits an object of LIMITS
   * names to positive integers; meta anything msgpack takes, echoed in the result; deadline
   * ms since the epoch on Redis's clock (deadlineIn() makes one): a job not started by then
   * ends 'expired'; maxAttempts the runs ccx may spend on it; id 1 to 128 of
   * A-Z a-z 0-9 . _ : - (a fresh one by default). Throws CcxInvalidJobError, nothing sent,
   * for an invalid job, unknown fields included; CcxConnectionError when Redis is out of
   * reach.
   */
  async submit(job) {
    const jobMap = buildJob(job);
    const payload = encodeJob(jobMap);
    const entry = await this._call(
      (c) => c.sendCommand(['XADD', JOBS_STREAM, '*', 'job', payload]));
    if (this._entries.size >= 10000) { // only a hint for wait(): forget the oldest
      this._entries.delete(this._entries.keys().next().value);
    }
    this._entries.set(jobMap.id, entry.toString());
    return jobMap.id;
  }

  /**
   * The result of job id, waiting up to timeoutMs (60000; Infinity: for good). Throws
   * CcxTimeoutError when none came in time: the job may still be queued or running.
   *
   * BLPOPs ccx:reply:<id> on a connection of its own; the reply is pushed once, so when
   * another waiter popped it the stored ccx:result:<id> is returned instead. For a job this
   * client submitted, the reply under its stream entry id is watched too (a job too large
   * to read is answered there, with status 'rejected').
   */
  async wait(id, { timeoutMs = 60000, ...rest } = {}) {
    checkJobId(id);
    if (Object.keys(rest).length) {
      throw new CcxInvalidJobError(`unknown wait option '${Object.keys(rest)[0]}'; known: `
        + 'timeoutMs');
    }
    if (!(timeoutMs > 0)) {
      throw new CcxInvalidJobError(`timeoutMs must be above 0, not ${show(timeoutMs)}`);
    }
    const entry = this._entries.get(id);
    const ids = entry && entry !== id ? [id, entry] : [id];
    const keys = ids.map((i) => REPLY_PREFIX + i);
    const deadline = timeoutMs === Infinity ? null : Date.now() + timeoutMs;
    await this._mainClient().catch((e) => { throw this._wrap(e); });
    for (;;) {
      const client = await this._acquire(deadline).catch((e) => { throw this._wrap(e); });
      if (client) {
        let reply;
        try {
          const blockMs = deadline === null ? WAIT_SLICE_MS
            : Math.min(WAIT_SLICE_MS, deadline - Date.now());
          if (blockMs > 0) {
            // Redis takes a fractional timeout (6.0 on); 0 would block for good.
            reply = await this._call((c) => c.sendCommand(
              ['BLPOP', ...keys, (Math.max(blockMs, 1) / 1000).toFixed(3)]), client);
          }
        } finally {
          this._release(client);
        }
        if (reply) {
          this._entries.delete(id);
          return decodeResult(reply[1]);
        }
      }
      const stored = await this._lookup(ids);
      if (stored) {
        this._entries.delete(id);
        return stored;
      }
      if (deadline !== null && Date.now() >= deadline) throw new CcxTimeoutError(id, timeoutMs);
    }
  }

  /** submit() then wait(): resolves to the result. options: { timeoutMs }. */
  async run(job, options = {}) {
    return this.wait(await this.submit(job), options);
  }

  async _lookup(ids) {
    for (const key of ids) {
      const data = await this._call((c) => c.sendCommand(['GET', RESULT_PREFIX + key]));
      if (data) return decodeResult(data);
    }
    return null;
  }

  /**
   * The stored result of job id without waiting; null when there is none (not answered
   * yet, never submitted, or its result_ttl_s passed).
   */
  async result(id) {
    checkJobId(id);
    const entry = this._entries.get(id);
    return this._lookup(entry && entry !== id ? [id, entry] : [id]);
  }

  /**
   * Cancels job id, like `ccx cancel`. Resolves to 'pending' (queued: it never runs and is
   * answered 'cancelled'), 'running' (its worker kills it within a lease renewal beat and
   * answers 'cancelled', unless it ends on its own first), 'finished' (its result stands)
   * or 'unknown' (no such job queued or running): in the last two nothing changed.
   */
  async cancel(id) {
    checkJobId(id);
    return this._call(async (c) => {
      const entry = await this._entryOf(c, id);
      const answer = await c.sendCommand(['EVAL', CANCEL_SCRIPT, '4', RESULT_PREFIX + id,
        CANCEL_PREFIX + id, JOBS_STREAM, LEASE_PREFIX + entry, entry, String(CANCEL_TTL_S)]);
      return answer.toString();
    });
  }

  // The ccx:jobs entry of job id, or '' (the stream holds only the backlog and the jobs in
  // flight, so the scan is short).
  async _entryOf(c, id) {
    let start = '-';
    for (;;) {
      const entries = await c.sendCommand(['XRANGE', JOBS_STREAM, start, '+', 'COUNT', '200']);
      if (!entries || entries.length === 0) return '';
      let last;
      for (const [rawEntry, fields] of entries) {
        last = rawEntry.toString();
        if (last === id) return last;
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i].toString() !== 'job') continue;
          try {
            const job = decode(fields[i + 1]);
            if (job && typeof job === 'object' && job.id === id) return last;
          } catch {
            // not a job this client can read: not the one looked for
          }
        }
      }
      start = `(${last}`;
    }
  }

  /** A deadline ms from now on Redis's clock, for submit({ deadline }). */
  async deadlineIn(ms) {
    const [seconds, micros] = await this._call((c) => c.sendCommand(['TIME']));
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + Math.round(ms);
  }

  /** Checks that Redis answers; throws CcxConnectionError otherwise. */
  async ping() {
    await this._call((c) => c.sendCommand(['PING']));
  }

  /** Closes every connection; waits in progress reject with CcxError. Twice is fine. */
  async close() {
    if (this._closed) return;
    this._closed = true;
    for (const entry of this._queue.splice(0)) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    for (const client of [...this._blocking]) this._drop(client);
    this._idle = [];
    const main = this._main;
    this._main = null;
    if (main) {
      const client = await main.ready.catch(() => null);
      if (client && client.isOpen) await client.close().catch(() => client.destroy());
    }
  }
}

/** A connected CcxClient: `const ccx = await connect(url)`. Throws CcxConnectionError. */
export async function connect(url, options) {
  return new CcxClient(url, options).connect();
}
