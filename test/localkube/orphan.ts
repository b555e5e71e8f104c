// Stops a command-line localkube whose parent went away without passing a
// signal on (npm or a shell killed with SIGTERM), so no pod process is left
// running. It must never stop anything while the parent is alive.

/** stopWhenOrphaned calls stop once this process has been re-parented. */
export function stopWhenOrphaned(stop: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      stop();
    }
  }, 500);
  timer.unref();
}
