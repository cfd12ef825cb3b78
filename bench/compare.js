// The reference side of bench/compare: runs the same scenarios as the Go
// side on the reference LeaderManager (trimerge-sync 0.20.0, unchanged,
// loaded from internal/refdiff/node_modules) and prints one JSON object per
// scenario: {"name":..., "nsPerOp":..., "broadcasts":...}.
//
//   node bench/compare.js [scenario-names...]
'use strict';

const fs = require('fs');
const path = require('path');

function load(timers) {
  const dir = path.join(__dirname, '..', 'internal', 'refdiff', 'node_modules', 'trimerge-sync');
  const src = fs.readFileSync(path.join(dir, 'dist', 'index.js'), 'utf8');
  const mod = { exports: {} };
  const quiet = { warn() {}, log() {}, error() {}, info() {}, debug() {} };
  new Function('exports', 'require', 'module', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'console',
    src + '\nexports.LeaderManager = LeaderManager;')(
    mod.exports, () => { throw new Error('unexpected require'); }, mod,
    timers.setTimeout, timers.clearTimeout, timers.setInterval, timers.clearInterval, quiet);
  return mod.exports.LeaderManager;
}

const realTimers = { setTimeout, clearTimeout, setInterval, clearInterval };

// The bundle is evaluated once, with timers that delegate to `timers`, so
// that a scenario can switch between Node's timers and virtual ones.
let timers = realTimers;
const LeaderManager = load({
  setTimeout: (fn, ms) => timers.setTimeout(fn, ms),
  clearTimeout: (h) => timers.clearTimeout(h),
  setInterval: (fn, ms) => timers.setInterval(fn, ms),
  clearInterval: (h) => timers.clearInterval(h),
});

// measure runs fn(n) with growing n until it takes at least 300ms and
// returns nanoseconds per operation.
function measure(fn) {
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    fn(n);
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns >= 300e6 || n >= 1 << 30) return ns / n;
    n = Math.max(n * 2, Math.ceil((n * 350e6) / Math.max(ns, 1)));
  }
}

// ------------------------------------------------------------ virtual network

// A deterministic simulation: N members start at t=0, every message takes
// latencyMs to every other member, events run in (time, seq) order, timers
// are virtual. It runs until the election is over (ElectionTimeout plus
// two latencies) and returns the broadcasts sent and the agreed leader.
function coldStart(N, latencyMs) {
  let now = 0;
  let seq = 0;
  const heap = [];
  const push = (e) => {
    e.seq = ++seq;
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(heap[p], heap[i])) break;
      [heap[p], heap[i]] = [heap[i], heap[p]];
      i = p;
    }
  };
  const less = (a, b) => (a.at !== b.at ? a.at < b.at : a.seq < b.seq);
  const pop = () => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  timers = {
    setTimeout: (fn, ms) => { const h = { on: true, fn, ms, interval: false }; push({ at: now + ms, timer: h }); return h; },
    setInterval: (fn, ms) => { const h = { on: true, fn, ms, interval: true }; push({ at: now + ms, timer: h }); return h; },
    clearTimeout: (h) => { if (h) h.on = false; },
    clearInterval: (h) => { if (h) h.on = false; },
  };
  const LM = LeaderManager;
  let broadcasts = 0;
  const members = [];
  for (let i = 0; i < N; i++) {
    const id = 'm-' + String(i).padStart(5, '0');
    members.push(null);
    // One queue entry per broadcast, delivered to every other member in
    // order when it comes due (the Go side does the same).
    const lm = new LM(id, () => {}, (ev) => {
      broadcasts++;
      push({ at: now + latencyMs, from: i, ev });
    });
    members[i] = lm;
  }
  const end = 1000 + 2 * latencyMs;
  while (heap.length > 0 && heap[0].at <= end) {
    const e = pop();
    now = e.at;
    if (e.timer) {
      if (!e.timer.on) continue;
      if (e.timer.interval) push({ at: now + e.timer.ms, timer: e.timer });
      else e.timer.on = false;
      e.timer.fn();
    } else {
      for (let j = 0; j < N; j++) {
        if (j !== e.from) members[j].receiveEvent(e.ev);
      }
    }
  }
  let leader = members[0].currentLeaderId;
  for (const m of members) if (m.currentLeaderId !== leader) leader = 'disagreement';
  for (const m of members) m.shutdown(false);
  timers = realTimers;
  return { broadcasts, leader };
}

// ------------------------------------------------------------ scenarios

const scenarios = {
  'decode heartbeat': () => {
    const s = '{"type":"leader","action":"current","clientId":"web-17"}';
    return { nsPerOp: measure((n) => { for (let i = 0; i < n; i++) JSON.parse(s); }) };
  },
  'encode heartbeat': () => {
    const ev = { type: 'leader', action: 'current', clientId: 'web-17' };
    return { nsPerOp: measure((n) => { for (let i = 0; i < n; i++) JSON.stringify(ev); }) };
  },
  'follower heartbeat step': () => {
    // The reference as shipped, on Node's real timers: each heartbeat
    // clears and re-arms the follower's heartbeat timeout.
    const lm = new LeaderManager('web-2', () => {}, () => {});
    const hb = { type: 'leader', action: 'current', clientId: 'web-17' };
    lm.receiveEvent(hb);
    const r = measure((n) => { for (let i = 0; i < n; i++) lm.receiveEvent(hb); });
    lm.shutdown(false);
    return { nsPerOp: r };
  },
  'follower heartbeat, bytes to state': () => {
    // What a follower does with a heartbeat it reads from the bus: decode
    // it and hand it to the LeaderManager, which re-arms its heartbeat
    // timeout on Node's real timers.
    const lm = new LeaderManager('web-2', () => {}, () => {});
    const s = '{"type":"leader","action":"current","clientId":"web-17"}';
    lm.receiveEvent(JSON.parse(s));
    const r = measure((n) => { for (let i = 0; i < n; i++) lm.receiveEvent(JSON.parse(s)); });
    lm.shutdown(false);
    return { nsPerOp: r };
  },
  'leader heartbeat, timer to bytes': () => {
    // What a leader does when its heartbeat interval fires: the
    // LeaderManager's interval callback broadcasts a current, which the
    // program encodes to the bytes it hands to the bus. The interval is
    // captured from virtual timers and called directly, as the Go side
    // runs its driver's timer path without a real timer.
    const intervals = [];
    timers = {
      setTimeout: (fn) => ({ fn }),
      clearTimeout: () => {},
      setInterval: (fn) => { const h = { fn }; intervals.push(h); return h; },
      clearInterval: () => {},
    };
    let sent = 0;
    const lm = new LeaderManager('a', () => {}, (ev) => { sent += JSON.stringify(ev).length; });
    lm.finishElection(); // the election timeout fires: it is the only candidate
    timers = realTimers;
    if (!lm.isLeader || intervals.length !== 1) throw new Error('the reference did not become leader');
    const beat = intervals[0].fn;
    const r = measure((n) => { for (let i = 0; i < n; i++) beat(); });
    lm.shutdown(false);
    if (sent === 0) throw new Error('the leader sent nothing');
    return { nsPerOp: r };
  },
};
for (const N of [10, 100]) {
  scenarios[`cold start N=${N}`] = () => {
    let out;
    const ns = measure((n) => { for (let i = 0; i < n; i++) out = coldStart(N, 10); });
    return { nsPerOp: ns, broadcasts: out.broadcasts, leader: out.leader };
  };
}

const wanted = process.argv.slice(2);
for (const [name, fn] of Object.entries(scenarios)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stdout.write(JSON.stringify({ name, ...fn() }) + '\n');
}
