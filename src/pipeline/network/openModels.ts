/**
 * The networks a long-lived process keeps open between runs: the last TripoSR pair and the last
 * background-removal network. Opening either costs about as much as running it once, so a worker
 * that generates again with the same choice reuses them; a different choice closes the old one first
 * (two TripoSR sessions would hold two copies of its weights).
 */
import { stat } from 'node:fs/promises';
import { loadModel, type LoadedModel } from './session.js';
import { loadSegmenter, type Segmenter } from '../image/background.js';
import type { SegmenterLoader } from '../run.js';

export class OpenModels {
  private triposrOpen: { key: string; model: LoadedModel } | undefined;
  private segmenterOpen: { key: string; segmenter: Segmenter } | undefined;

  constructor(private readonly log?: (line: string) => void) {}

  /** The encoder/decoder pair in `dir` on the first provider of `executionProviders` that starts. */
  async triposr(dir: string, executionProviders: readonly string[] | 'auto'): Promise<LoadedModel> {
    // The files' size and time are part of the key, so a pair replaced in place is reopened.
    const key = JSON.stringify([dir, executionProviders, await stamp(`${dir}/encoder.onnx`), await stamp(`${dir}/decoder.onnx`)]);
    if (this.triposrOpen?.key === key) return this.triposrOpen.model;
    await this.closeTriposr();
    const model = await loadModel(dir, { executionProviders, log: this.log });
    this.triposrOpen = { key, model };
    return model;
  }

  /** Opens background networks on these providers: the segmenter runs where TripoSR started, a provider known to work here. */
  segmenters(executionProviders: readonly string[]): SegmenterLoader {
    return async (file, network) => {
      const key = JSON.stringify([file, network, executionProviders, await stamp(file)]);
      if (this.segmenterOpen?.key === key) return this.segmenterOpen.segmenter;
      const previous = this.segmenterOpen;
      this.segmenterOpen = undefined;
      await previous?.segmenter.dispose();
      const segmenter = await loadSegmenter(file, network, { executionProviders, log: this.log });
      this.segmenterOpen = { key, segmenter };
      return segmenter;
    };
  }

  async dispose(): Promise<void> {
    await this.closeTriposr();
    const segmenter = this.segmenterOpen;
    this.segmenterOpen = undefined;
    await segmenter?.segmenter.dispose();
  }

  private async closeTriposr(): Promise<void> {
    const open = this.triposrOpen;
    this.triposrOpen = undefined;
    await open?.model.dispose();
  }
}

async function stamp(file: string): Promise<string> {
  const info = await stat(file).catch(() => undefined);
  return info ? `${info.size}:${info.mtimeMs}` : 'absent';
}
