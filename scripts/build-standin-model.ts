/**
 * Writes the stand-in TripoSR model pair (encoder.onnx, decoder.onnx, model.json) into a folder.
 * Usage: node --import tsx scripts/build-standin-model.ts <outDir>
 */
import { resolve } from 'node:path';
import { writeStandinModels } from '../src/pipeline/network/standinModel.js';

async function main(): Promise<void> {
  const outDir = process.argv[2];
  if (outDir === undefined || process.argv.length > 3) {
    process.stderr.write('Usage: node --import tsx scripts/build-standin-model.ts <outDir>\n');
    process.exitCode = 2;
    return;
  }
  const dir = resolve(outDir);
  await writeStandinModels(dir);
  process.stdout.write(`Wrote the stand-in model to ${dir}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
