// Differential-test harness: runs the reference LeaderManager of
// trimerge-sync 0.20.0, unchanged, on schedules written by refdiff's Go test,
// in virtual time, and writes one trace line per schedule.
//
//   node harness.js schedules.jsonl traces.jsonl   (or - for stdout)
//
// The simulation rules (event order, latency, loss, pause, partition,
// restart) are described in doc.go and must stay identical to sim_test.go
// and manager_sim_test.go.
'use strict';

const fs = require('fs');
const { loadLeaderManager: loadBundle } = require('../nodeenv/leadermanager.js');

const VERSION = '0.20.0';

// ---------------------------------------------------------------- virtual time

let now = 0; // virtual time, integer milliseconds
let owner = -1; // the slot whose code is running, owner of new timers
let timerSeq = 0; // creation order of timers
let timers = []; // per slot: the timers of its current instance

function addTimer(fn, ms, interval) {
  if (owner < 0) throw new Error('timer created outside of a client step');
  const h = { due: now + ms, seq: ++timerSeq, ms, fn, interval, on: true };
  timers[owner].push(h);
  return h; // an object, truthy like Node's Timeout
}

function clearTimer(h) {
  if (h) h.on = false;
}

const fakeSetTimeout = (fn, ms) => addTimer(fn, ms, false);
const fakeSetInterval = (fn, ms) => addTimer(fn, ms, true);

// nextTimer returns the slot's earliest active timer (by due time, then
// creation), or undefined.
function nextTimer(slot) {
  let best;
  const list = timers[slot].filter((h) => h.on);
  timers[slot] = list;
  for (const h of list) {
    if (!best || h.due < best.due || (h.due === best.due && h.seq < best.seq)) best = h;
  }
  return best;
}

// ---------------------------------------------------------------- the reference

let warnings = null; // where the fake console records, set per step

const fakeConsole = {
  warn: (...args) => warnings.push(args.join(' ')),
  log: (...args) => warnings.push('log: ' + args.join(' ')),
  info: (...args) => warnings.push('info: ' + args.join(' ')),
  error: (...args) => warnings.push('error: ' + args.join(' ')),
  debug: (...args) => warnings.push('debug: ' + args.join(' ')),
};

// The shipped bundle runs with our timers and console in scope.
function loadLeaderManager() {
  const noRequire = (name) => {
    throw new Error(`the reference bundle unexpectedly requires ${name}`);
  };
  return loadBundle(__dirname, VERSION, {
    require: noRequire,
    setTimeout: fakeSetTimeout,
    clearTimeout: clearTimer,
    setInterval: fakeSetInterval,
    clearInterval: clearTimer,
    console: fakeConsole,
  });
}

const LeaderManager = loadLeaderManager();

// ---------------------------------------------------------------- shared hash

function mix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

// hash must equal hash32 in sim_test.go.
function hash(seed, salt, sender, index, receiver) {
  let h = mix32(seed ^ Math.imul(salt, 0x9e3779b9));
  h = mix32(h ^ sender);
  h = mix32(h ^ index);
  return mix32(h ^ receiver);
}

// ---------------------------------------------------------------- simulation

const WARNINGS = {
  '[TRIMERGE-SYNC] leader timeout': 'leader timeout',
  '[TRIMERGE-SYNC] multiple leaders detected, deferring...': 'multiple leaders detected, deferring',
  '[TRIMERGE-SYNC] multiple leaders detected, staying...': 'multiple leaders detected, staying',
};

// cmpKey orders simulation steps: time, class (0 external event, 1 timers,
// 2 delivery), slot, then two tie-breakers.
function cmpKey(a, b) {
  for (let i = 0; i < 5; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

function run(s) {
  const n = s.ids.length;
  const settings = {
    electionTimeoutMs: s.electionTimeout,
    heartbeatIntervalMs: s.heartbeatInterval,
    heartbeatTimeoutMs: s.heartbeatTimeout,
  };
  now = 0;
  owner = -1;
  timerSeq = 0;
  timers = [];
  const traces = [];
  const slots = [];
  for (let i = 0; i < n; i++) {
    timers.push([]);
    traces.push([]);
    slots.push({ lm: null, running: false, paused: false, cut: false, outQ: [], inQ: [], sent: 0, leader: '' });
  }
  const deliveries = []; // sorted by key

  const record = (slot, k, v, j) => {
    const e = { t: now, k, v };
    if (j !== undefined) e.j = j;
    traces[slot].push(e);
  };

  // send puts a broadcast on the wire; a partitioned sender's is lost.
  const send = (from, index, event) => {
    if (slots[from].cut) return;
    for (let r = 0; r < n; r++) {
      if (r === from) continue;
      if (hash(s.seed, 2, from, index, r) % 1000 < s.lossPermille) continue;
      const t = now + 1 + (hash(s.seed, 1, from, index, r) % s.maxLatency);
      const d = { key: [t, 2, r, from, index], event };
      let i = deliveries.length;
      while (i > 0 && cmpKey(deliveries[i - 1].key, d.key) > 0) i--;
      deliveries.splice(i, 0, d);
    }
  };

  // step runs f as a step of slot: it records what the reference does.
  const step = (slot, f) => {
    const st = slots[slot];
    owner = slot;
    warnings = [];
    f(st);
    owner = -1;
    if (warnings.length) throw new Error('a warning escaped its step');
    const leader = st.lm ? st.lm.currentLeaderId ?? '' : '';
    if (leader !== st.leader) {
      st.leader = leader;
      record(slot, 'leader', leader);
    }
  };

  // flushWarnings records console output in order with the other effects.
  const flushWarnings = (slot) => {
    for (const w of warnings) record(slot, 'warn', WARNINGS[w] ?? w);
    warnings.length = 0;
  };

  const start = (slot) => {
    const st = slots[slot];
    if (st.running) throw new Error(`slot ${slot} at t=${now}: the schedule starts a running client`);
    timers[slot] = [];
    st.running = true;
    st.leader = '';
    st.lm = null;
    const onLeaderChange = (isLeader) => {
      flushWarnings(slot);
      record(slot, 'leading', String(isLeader));
    };
    const broadcast = (event) => {
      flushWarnings(slot);
      const index = st.sent++;
      record(slot, 'bcast', event.action, JSON.stringify(event));
      if (st.paused) st.outQ.push({ index, event });
      else send(slot, index, event);
    };
    // The constructor already broadcasts and sets a timer.
    st.lm = new LeaderManager(s.ids[slot], onLeaderChange, broadcast, settings);
    flushWarnings(slot);
  };

  const receive = (slot, event) => {
    slots[slot].lm.receiveEvent(event);
    flushWarnings(slot);
  };

  let ext = 0;
  for (;;) {
    let best = null;
    let kind = '';
    if (ext < s.events.length) {
      const e = s.events[ext];
      best = [e.t, 0, e.slot, ext, 0];
      kind = 'ext';
    }
    for (let i = 0; i < n; i++) {
      const h = nextTimer(i);
      if (!h) continue;
      const key = [h.due, 1, i, 0, 0];
      if (!best || cmpKey(key, best) < 0) {
        best = key;
        kind = 'timer';
      }
    }
    if (deliveries.length && (!best || cmpKey(deliveries[0].key, best) < 0)) {
      best = deliveries[0].key;
      kind = 'delivery';
    }
    if (!best || best[0] > s.horizon) break;
    now = best[0];
    const slot = best[2];
    switch (kind) {
      case 'ext': {
        const e = s.events[ext++];
        record(slot, e.op, '');
        step(slot, (st) => {
          switch (e.op) {
            case 'start':
              start(slot);
              break;
            case 'stop':
            case 'kill':
              st.lm.shutdown(e.op === 'stop');
              flushWarnings(slot);
              st.running = false;
              st.inQ = [];
              break;
            case 'pause':
              st.paused = true;
              break;
            case 'partition':
              st.cut = true;
              break;
            case 'heal':
              st.cut = false;
              break;
            case 'resume': {
              st.paused = false;
              const out = st.outQ;
              st.outQ = [];
              for (const m of out) send(slot, m.index, m.event);
              const incoming = st.inQ;
              st.inQ = [];
              for (const ev of incoming) receive(slot, ev);
              break;
            }
            default:
              throw new Error('unknown op ' + e.op);
          }
        });
        break;
      }
      case 'timer':
        // Fire every timer of the slot due now, by due time then creation;
        // an interval keeps its place.
        step(slot, () => {
          for (;;) {
            const h = nextTimer(slot);
            if (!h || h.due > now) break;
            if (h.interval) h.due += h.ms;
            else h.on = false;
            h.fn();
            flushWarnings(slot);
          }
        });
        break;
      case 'delivery': {
        const d = deliveries.shift();
        const st = slots[slot];
        if (!st.running || st.cut) break;
        if (st.paused) {
          st.inQ.push(d.event);
          break;
        }
        step(slot, () => receive(slot, d.event));
        break;
      }
    }
  }
  const order = s.ids.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { seed: s.seed, order, traces };
}

// main writes one line per schedule, to the output file or, if it is '-',
// to stdout (synchronous for files and, on Linux, pipes, so that the reader
// works on one result while the next ones are computed).
function main() {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    process.stderr.write('usage: node harness.js schedules.jsonl traces.jsonl|-\n');
    process.exit(2);
  }
  const write = output === '-' ? (s) => process.stdout.write(s) : ((fd) => (s) => fs.writeSync(fd, s))(fs.openSync(output, 'w'));
  for (const line of fs.readFileSync(input, 'utf8').split('\n')) {
    if (line === '') continue;
    write(JSON.stringify(run(JSON.parse(line))) + '\n');
  }
}

main();
