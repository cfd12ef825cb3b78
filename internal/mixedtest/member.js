// A member of a bellwether group over NATS that runs the reference
// LeaderManager of trimerge-sync 0.20.0, unchanged, in real time.
//
//   node member.js '{"servers":"nats://127.0.0.1:4222","group":"g","id":"a",
//                    "electionTimeoutMs":200,"heartbeatIntervalMs":250,"heartbeatTimeoutMs":1000}'
//
// It publishes each leader event as plain JSON on the group's subject, as
// transport/nats names it, and hands every message it hears to the
// LeaderManager. It connects with noEcho, so NATS does not give it its own
// messages back.
//
// stdout: one JSON object per line:
//   {"event":"ready"}                       subscribed and running
//   {"event":"leading","leading":true}      this member's leadership changed
//   {"event":"leader","leader":"b"}         the leader it knows changed ("" for none)
//   {"event":"bye"}                         withdrawn, about to exit
// stdin: "withdraw" = shutdown(true), then exit 0. When stdin closes (the
// test died) it exits at once without withdrawing. Killing it is a crash.
// The reference's console.warn lines go to stderr.
'use strict';

const { loadLeaderManager: loadBundle } = require('../nodeenv/leadermanager.js');
const readline = require('readline');
const { connect } = require('nats');

const VERSION = '0.20.0';

function loadLeaderManager() {
  return loadBundle(__dirname, VERSION, { require });
}

// subject is transport/nats's subject of a group: dots become '~'.
function subject(group) {
  return 'bellwether.' + group.replace(/\./g, '~');
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  const LeaderManager = loadLeaderManager();
  const nc = await connect({ servers: cfg.servers, noEcho: true, name: 'bellwether-mixedtest ' + cfg.id });
  const subj = subject(cfg.group);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const sub = nc.subscribe(subj);
  await nc.flush(); // the server has the subscription before we speak

  const broadcast = (event) => nc.publish(subj, enc.encode(JSON.stringify(event)));
  const lm = new LeaderManager(cfg.id, (leading) => emit({ event: 'leading', leading }), broadcast, {
    electionTimeoutMs: cfg.electionTimeoutMs,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
  });
  // Report the leader the reference knows each time it changes: watch its
  // field, which only setLeader assigns.
  let known = lm.currentLeaderId;
  Object.defineProperty(lm, 'currentLeaderId', {
    get: () => known,
    set: (v) => {
      if (v !== known) emit({ event: 'leader', leader: v === undefined ? '' : v });
      known = v;
    },
  });
  emit({ event: 'ready' });

  let done = false;
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    if (line.trim() !== 'withdraw' || done) return;
    done = true;
    lm.shutdown(true);
    await nc.flush();
    emit({ event: 'bye' });
    await nc.close();
    process.exit(0);
  });
  rl.on('close', () => {
    if (!done) process.exit(3);
  });

  for await (const m of sub) {
    let ev;
    try {
      ev = JSON.parse(dec.decode(m.data));
    } catch (e) {
      continue;
    }
    if (ev && ev.type === 'leader' && typeof ev.clientId === 'string' && typeof ev.action === 'string') {
      lm.receiveEvent(ev);
    }
  }
}

main().catch((err) => {
  process.stderr.write(`member.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
});
