/** Resolves with the first SIGINT or SIGTERM the process receives (a long-running command's cue to shut down). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => { resolve(s); };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}
