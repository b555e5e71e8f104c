// Reading and writing Kubernetes timestamps. Clients hand us Date objects
// (client-node models) or RFC 3339 strings (raw JSON); status is written as
// strings. Must never read the clock: `now` always comes from Observed.

/** millis converts a timestamp to milliseconds since the epoch; undefined when absent or unreadable. */
export function millis(t: Date | string | undefined | null): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
}

/** rfc3339 renders milliseconds as a Kubernetes timestamp (second precision, UTC). */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
