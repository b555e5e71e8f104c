import { test } from 'node:test';
import assert from 'node:assert/strict';
import { message, type Message } from '../raft/index.ts';
import { CommitNoticeHold, type CommitNoticeClock } from './commit-notices.ts';

/** a clock whose timers fire only when the test says so */
function manualClock(): CommitNoticeClock & { fire(): void; pending(): number } {
  let timers: { fn: () => void; handle: number }[] = [];
  let next = 1;
  return {
    setTimeout(fn) {
      const handle = next++;
      timers.push({ fn, handle });
      return handle;
    },
    clearTimeout(h) {
      timers = timers.filter((t) => t.handle !== h);
    },
    fire() {
      const due = timers;
      timers = [];
      for (const t of due) t.fn();
    },
    pending: () => timers.length,
  };
}

const TERM = 3;
const notice = (to: number, commit: number): Message => message({ type: 'app', from: 1, to, term: TERM, index: commit, logTerm: TERM, commit, commitOnly: true });
const append = (to: number, index: number, commit: number): Message =>
  message({ type: 'app', from: 1, to, term: TERM, index, logTerm: TERM, commit, entries: [{ term: TERM, index: index + 1, type: 'normal', data: new Uint8Array([1]) }] });

function setup(leads: (term: number) => boolean = (term) => term === TERM) {
  const sent: Message[][] = [];
  const clock = manualClock();
  const hold = new CommitNoticeHold(4, (msgs) => sent.push(msgs), leads, clock);
  const flat = () => sent.flat().map((m) => `${m.type}:${m.to}:${m.commit}${m.commitOnly ? ':notice' : ''}`);
  return { sent, clock, hold, flat };
}

test('a commit notice nothing replaces is sent once the hold is over', () => {
  const { clock, hold, flat } = setup();
  hold.send([notice(2, 10), notice(3, 10)]);
  assert.deepEqual(flat(), [], 'held');
  assert.equal(clock.pending(), 1, 'one timer for all held notices');
  clock.fire();
  assert.deepEqual(flat(), ['app:2:10:notice', 'app:3:10:notice']);
  assert.deepEqual(hold.counts, { held: 2, replaced: 0, sent: 2 });
});

test('the next append to a follower takes its held notice’s place; the other follower still gets its own', () => {
  const { clock, hold, flat } = setup();
  hold.send([notice(2, 10), notice(3, 10)]);
  hold.send([append(2, 12, 10)]);
  assert.deepEqual(flat(), ['app:2:10'], 'the append leaves at once, the notice to 2 is dropped');
  clock.fire();
  assert.deepEqual(flat(), ['app:2:10', 'app:3:10:notice']);
  assert.deepEqual(hold.counts, { held: 2, replaced: 1, sent: 1 });
});

test('a newer notice replaces an older one held for the same follower', () => {
  const { clock, hold, flat } = setup();
  hold.send([notice(2, 10)]);
  hold.send([notice(2, 11)]);
  clock.fire();
  assert.deepEqual(flat(), ['app:2:11:notice']);
});

test('everything but a commit notice passes at once and in order', () => {
  const { hold, flat, clock } = setup();
  const hb = message({ type: 'heartbeat', from: 1, to: 3, term: TERM, commit: 9 });
  const vote = message({ type: 'voteResp', from: 1, to: 2, term: TERM });
  const empty = message({ type: 'app', from: 1, to: 2, term: TERM, index: 9, logTerm: TERM, commit: 9 }); // a probe: answered, never held
  hold.send([hb, notice(2, 10), vote, empty]);
  assert.deepEqual(flat(), ['heartbeat:3:9', 'voteResp:2:0', 'app:2:9']);
  clock.fire();
  assert.deepEqual(flat(), ['heartbeat:3:9', 'voteResp:2:0', 'app:2:9'], 'the notice was replaced by the later append in the same batch');
});

test('a heartbeat does not take a held notice’s place', () => {
  const { hold, flat, clock } = setup();
  hold.send([notice(3, 10)]);
  hold.send([message({ type: 'heartbeat', from: 1, to: 3, term: TERM, commit: 8 })]);
  clock.fire();
  assert.deepEqual(flat(), ['heartbeat:3:8', 'app:3:10:notice']);
});

test('a follower that forwarded proposals gets its notice at once until told they are committed', () => {
  const { hold, flat, clock } = setup();
  hold.send([append(2, 10, 10)]); // follower 2 was told commit 10
  hold.noteForwarded(2, 12); // then its proposals took indexes up to 12
  hold.send([notice(2, 11), notice(3, 11)]);
  assert.deepEqual(flat(), ['app:2:10', 'app:2:11:notice'], 'commit 11 < 12: follower 2 still waits, so it is told at once');
  hold.send([notice(2, 12)]);
  assert.deepEqual(flat().slice(-1), ['app:2:12:notice']);
  hold.send([notice(2, 13)]);
  assert.deepEqual(flat().length, 3, 'told 12: nothing of its own waits any more, so the notice is held again');
  clock.fire();
  assert.deepEqual(flat().slice(3).sort(), ['app:2:13:notice', 'app:3:11:notice']);
});

test('notices of a term this member no longer leads are dropped, and clear drops everything held', () => {
  let leading = true;
  const { hold, flat, clock } = setup((term) => leading && term === TERM);
  hold.send([notice(2, 10)]);
  leading = false;
  clock.fire();
  assert.deepEqual(flat(), []);
  leading = true;
  hold.send([notice(3, 11)]);
  hold.clear();
  assert.equal(clock.pending(), 0, 'its timer is cancelled');
  clock.fire();
  assert.deepEqual(flat(), []);
});

test('a hold of 0 sends every notice at once', () => {
  const sent: Message[][] = [];
  const clock = manualClock();
  const hold = new CommitNoticeHold(0, (msgs) => sent.push(msgs), () => true, clock);
  hold.send([notice(2, 10)]);
  assert.equal(sent.flat().length, 1);
  assert.equal(clock.pending(), 0);
});
