/** Runs async tasks with bounded concurrency, with a progress callback. */

export async function runPool(tasks: readonly (() => Promise<void>)[], concurrency: number, onProgress?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async () => {
    while (!failed) {
      const i = next++;
      const task = tasks[i];
      if (!task) return;
      try {
        await task();
      } catch (err) {
        failed = true; // the other workers stop taking tasks
        throw err;
      }
      done++;
      onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, worker));
}
