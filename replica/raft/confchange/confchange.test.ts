// Configuration changes: simple, joint enter/leave, learners, demotion through
// learnersNext, rejected changes leaving the tracker untouched, the codec, and
// restoring a configuration from its persisted form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Changer, ConfChangeError } from './confchange.ts';
import { restoreConfig } from './restore.ts';
import { decodeConfChange, encodeConfChange } from './codec.ts';
import { ProgressTracker, configToString } from '../tracker/tracker.ts';
import type { ConfChange, ConfChangeSingle } from '../types.ts';

function tracker(voters: number[], learners: number[] = []): ProgressTracker {
  const t = new ProgressTracker(16, 0);
  restoreConfig(t, 10, { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false });
  return t;
}

function apply(t: ProgressTracker, cc: Partial<ConfChange> & Pick<ConfChange, 'changes'>): string {
  const r = new Changer(t, 10).apply({ transition: 'auto', context: new Uint8Array(), ...cc });
  t.config = r.config;
  t.progress = r.progress;
  return configToString(t.config);
}

test('simple changes touch at most one voter', () => {
  const t = tracker([1, 2, 3]);
  assert.equal(apply(t, { changes: [{ type: 'addNode', nodeId: 4 }] }), 'voters=(1 2 3 4)');
  assert.equal(apply(t, { changes: [{ type: 'addLearner', nodeId: 5 }] }), 'voters=(1 2 3 4) learners=(5)');
  assert.equal(apply(t, { changes: [{ type: 'removeNode', nodeId: 1 }] }), 'voters=(2 3 4) learners=(5)');
  assert.throws(
    () => new Changer(t, 10).simple([{ type: 'addNode', nodeId: 6 }, { type: 'addNode', nodeId: 7 }]),
    /more than one voter changed without entering joint config/,
  );
});

test('several changes enter a joint configuration and auto-leave is recorded', () => {
  const t = tracker([1, 2, 3]);
  assert.equal(
    apply(t, { changes: [{ type: 'removeNode', nodeId: 1 }, { type: 'addNode', nodeId: 4 }] }),
    'voters=(2 3 4)&&(1 2 3) autoleave',
  );
  // 1 keeps its progress while it still votes in the outgoing half.
  assert.ok(t.progress.has(1));
  assert.equal(apply(t, { changes: [] }), 'voters=(2 3 4)');
  assert.ok(!t.progress.has(1));
});

test('a voter demoted while joint waits in learnersNext', () => {
  const t = tracker([1, 2, 3]);
  assert.equal(
    apply(t, { transition: 'jointExplicit', changes: [{ type: 'addLearner', nodeId: 3 }] }),
    'voters=(1 2)&&(1 2 3) learners_next=(3)',
  );
  assert.equal(t.progress.get(3)!.isLearner, false);
  assert.equal(apply(t, { changes: [] }), 'voters=(1 2) learners=(3)');
  assert.equal(t.progress.get(3)!.isLearner, true);
});

test('invalid changes are refused and leave the tracker untouched', () => {
  const t = tracker([1, 2, 3]);
  const before = configToString(t.config);
  const chg = () => new Changer(t, 10);
  assert.throws(() => chg().leaveJoint(), /can't leave a non-joint config/);
  assert.throws(() => chg().simple([1, 2, 3].map((id) => ({ type: 'removeNode' as const, nodeId: id }))), /removed all voters/);
  const r = chg().enterJoint(true, [{ type: 'addNode', nodeId: 4 }]);
  t.config = r.config;
  t.progress = r.progress;
  assert.throws(() => chg().enterJoint(true, [{ type: 'addNode', nodeId: 5 }]), /already joint/);
  assert.throws(() => chg().simple([{ type: 'addNode', nodeId: 5 }]), /simple config change in joint/);
  assert.notEqual(before, configToString(t.config));
  assert.throws(() => new Changer(tracker([]), 0).enterJoint(false, [{ type: 'addNode', nodeId: 1 }]), ConfChangeError);
});

test('restore rebuilds joint configurations exactly', () => {
  const cs = { voters: [2, 3, 4], votersOutgoing: [1, 2, 3], learners: [5], learnersNext: [1], autoLeave: true };
  const t = new ProgressTracker(16, 0);
  restoreConfig(t, 10, cs);
  assert.deepEqual(t.confState(), cs);
  assert.equal(configToString(t.config), 'voters=(2 3 4)&&(1 2 3) learners=(5) learners_next=(1) autoleave');
});

test('property: the codec round-trips any change and rejects truncations', () => {
  const single = fc.record({
    type: fc.constantFrom<ConfChangeSingle['type']>('addNode', 'addLearner', 'removeNode'),
    nodeId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  });
  fc.assert(
    fc.property(
      fc.constantFrom<ConfChange['transition']>('auto', 'jointImplicit', 'jointExplicit'),
      fc.array(single, { maxLength: 8 }),
      fc.uint8Array({ maxLength: 64 }),
      (transition, changes, context) => {
        // fast-check records are not plain objects; compare plain copies
        const cc: ConfChange = { transition, changes: changes.map((c) => ({ type: c.type, nodeId: c.nodeId })), context: Uint8Array.from(context) };
        const bytes = encodeConfChange(cc);
        assert.deepEqual(decodeConfChange(bytes), cc);
        assert.throws(() => decodeConfChange(bytes.slice(0, bytes.length - 1)), /malformed configuration change/);
      },
    ),
  );
});
