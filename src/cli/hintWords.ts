import type { ActionId, HintWords, OptionId } from '../pipeline/hint.js';

/** The flag that sets each option; a record, so an option a hint starts naming cannot go unworded. */
export const CLI_FLAGS: Readonly<Record<OptionId, string>> = {
  threshold: '--threshold',
  resolution: '--resolution',
  targetTriangles: '--triangles',
  cadTolerance: '--cad-tolerance',
  existing: '--existing',
  foregroundRatio: '--foreground-ratio',
  background: '--background',
  backgroundNetwork: '--background-network',
  backgroundModelPath: '--background-model',
  // --model takes the stand-in's name, an ONNX folder or a checkpoint file alike.
  model: '--model',
  modelPath: '--model',
  checkpointPath: '--model',
  executionProviders: '--providers',
  downloadUrls: '--model-url',
};

/** The CLI runs from a built checkout (README, "Try it"), so getting a fresh copy means building one. */
const REBUILD = 'npm ci && npm run build';

const CLI_ACTIONS: Readonly<Record<ActionId, string>> = {
  'choose-output-folder': 'choose another folder with --out',
  'allow-download': 'allow the download by running without --no-download',
  'download-model': 'run again without --no-download',
  'download-from-mirror': 'download the file from a mirror with --model-url NAME=URL',
  reinstall: `rebuild the command line tool (${REBUILD})`,
  'install-per-user': `use a checkout of image-to-3d that you own (clone it, then ${REBUILD})`,
};

/** Hints as the command line shows them: options are flags, `value` their argument. */
export const CLI_HINT_WORDS: HintWords = {
  option: (id, value) => (value === undefined ? CLI_FLAGS[id] : `${CLI_FLAGS[id]} ${value}`),
  action: (id) => CLI_ACTIONS[id],
};
