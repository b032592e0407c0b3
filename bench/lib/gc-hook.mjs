// Preloaded into every benchmarked server (`node --expose-gc --import ./gc-hook.mjs`): on SIGUSR2
// it collects garbage and writes process.memoryUsage() to $BENCH_MEM_FILE, so the runner can read
// a settled heap and RSS from outside without the server knowing it is benchmarked.
import { writeFileSync } from 'node:fs';

process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  if (process.env.BENCH_MEM_FILE) {
    writeFileSync(process.env.BENCH_MEM_FILE, JSON.stringify(process.memoryUsage()));
  }
});
