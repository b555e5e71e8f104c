// Rebuilds a tracker configuration from a persisted ConfState (after a restart
// or a snapshot). Must produce exactly the configuration the ConfState names.
import type { ConfState } from '../types.ts';
import { Changer, type ChangeResult } from './confchange.ts';
import type { ProgressTracker } from '../tracker/tracker.ts';
import { emptyTrackerConfig } from '../tracker/tracker.ts';

/**
 * restoreConfig replays the ConfState as changes on an empty configuration:
 * the outgoing voters one at a time, then (if joint) one joint change that
 * turns them into the incoming configuration.
 */
export function restoreConfig(tracker: ProgressTracker, lastIndex: number, cs: ConfState): ChangeResult {
  tracker.config = emptyTrackerConfig();
  tracker.progress = new Map();
  const chg = (): Changer => new Changer(tracker, lastIndex);
  const install = (r: ChangeResult) => {
    tracker.config = r.config;
    tracker.progress = r.progress;
  };
  if (cs.votersOutgoing.length === 0) {
    // Not joint: add voters and learners one by one (a zero-voter state is an empty configuration).
    for (const id of cs.voters) install(chg().simple([{ type: 'addNode', nodeId: id }]));
    for (const id of cs.learners) install(chg().simple([{ type: 'addLearner', nodeId: id }]));
  } else {
    for (const id of cs.votersOutgoing) install(chg().simple([{ type: 'addNode', nodeId: id }]));
    install(
      chg().enterJoint(cs.autoLeave, [
        ...cs.votersOutgoing.map((id) => ({ type: 'removeNode' as const, nodeId: id })),
        ...cs.voters.map((id) => ({ type: 'addNode' as const, nodeId: id })),
        ...cs.learners.map((id) => ({ type: 'addLearner' as const, nodeId: id })),
        ...cs.learnersNext.map((id) => ({ type: 'addLearner' as const, nodeId: id })),
      ]),
    );
  }
  return { config: tracker.config, progress: tracker.progress };
}
