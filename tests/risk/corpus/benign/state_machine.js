const transitions = {
  idle: { start: 'running' },
  running: { pause: 'paused', stop: 'idle', fail: 'error' },
  paused: { resume: 'running', stop: 'idle' },
  error: { reset: 'idle' },
};
function run(events, state = 'idle') {
  for (const e of events) {
    const next = transitions[state][e];
    if (!next) { console.log(`ignored ${e} in ${state}`); continue; }
    console.log(`${state} --${e}--> ${next}`);
    state = next;
  }
  return state;
}
run(['start', 'pause', 'exec', 'resume', 'fail', 'reset']);
