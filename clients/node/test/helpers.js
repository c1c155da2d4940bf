// Shared by the suites: the fleet's Redis URL, and a raw Redis connection for looking at
// what the fleet did (leases). The suites run against a real fleet, started by
// tests/integration/test_node_client.py (ctest), which sets CCX_REDIS_URL.
import { createClient } from 'redis';
import { connect } from '../index.js';

export function fleetUrl() {
  const url = process.env.CCX_REDIS_URL;
  if (!url) {
    throw new Error('CCX_REDIS_URL is not set: these suites need a real fleet; run them through '
      + 'tests/integration/test_node_client.py (ctest -R node_client)');
  }
  return url;
}

export async function client() {
  return connect(fleetUrl());
}

/** Resolves once job id holds a lease in state running (its program has started). */
export async function waitRunning(id, timeoutMs = 30000) {
  const raw = await createClient({ url: fleetUrl() }).on('error', () => {}).connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const entry of await raw.zRange('ccx:leases', 0, -1)) {
        const lease = await raw.hGetAll(`ccx:lease:${entry}`);
        if (lease.job_id === id && lease.state === 'running') return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${id} was not running within ${timeoutMs} ms`);
  } finally {
    raw.destroy();
  }
}
