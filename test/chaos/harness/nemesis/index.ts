// Public surface of the nemeses: the registry by name, and parsing of the
// --nemesis list (`all` = every nemesis, mixed at random).
// It must never grow logic of its own beyond name lookup.
import { killLeaderNemesis, killNemesis } from './kill.ts';
import { membershipNemesis } from './membership.ts';
import { partitionNemesis } from './partition.ts';
import { pauseNemesis } from './pause.ts';
import { snapshotNemesis } from './snapshot.ts';
import type { Nemesis } from './types.ts';

export type { ActiveFault, Nemesis, NemesisContext } from './types.ts';
export { installedSnapshots } from './snapshot.ts';
export { minority, pickOne, pickSome, shuffled } from './pick.ts';

/** NEMESES lists every nemesis by name, in the order `all` documents them. */
export const NEMESES: readonly Nemesis[] = [killNemesis, killLeaderNemesis, pauseNemesis, partitionNemesis, membershipNemesis, snapshotNemesis];

export const NEMESIS_NAMES: readonly string[] = NEMESES.map((n) => n.name);

/** parseNemesisList reads "kill,partition" or "all" (or "none") into nemeses; throws on an unknown name. */
export function parseNemesisList(text: string): Nemesis[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`--nemesis: give one or more of ${NEMESIS_NAMES.join(', ')}, all or none`);
  const out = new Set<Nemesis>();
  for (const name of names) {
    if (name === 'all') for (const n of NEMESES) out.add(n);
    else if (name === 'none') continue;
    else {
      const n = NEMESES.find((x) => x.name === name);
      if (!n) throw new Error(`--nemesis: unknown nemesis ${JSON.stringify(name)} (known: ${NEMESIS_NAMES.join(', ')}, all, none)`);
      out.add(n);
    }
  }
  return [...out];
}
