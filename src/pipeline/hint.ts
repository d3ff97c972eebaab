/**
 * What a user error tells the user to do. The library serves two front ends that name the same option
 * differently (the extension a setting, the CLI a flag) and offer different ways to act (a button, a
 * command-line switch), so a hint keeps those references as data and each front end puts them into
 * its own words. Plain advice stays plain text.
 */

/**
 * Options a hint can point the user at: the GenerateRequest / ConvertRequest field where there is one.
 * Only options some hint names belong here; each front end must word every one.
 */
export const OPTION_IDS = [
  'threshold',
  'resolution',
  'targetTriangles',
  // How far the STEP/DXF mesh may stray from the full one, in millimetres.
  'cadTolerance',
  'existing',
  'foregroundRatio',
  'background',
  'backgroundNetwork',
  'backgroundModelPath',
  // Which network runs; with the value 'standin', the built-in demonstration model.
  'model',
  // A folder holding a ready ONNX pair.
  'modelPath',
  // The user's own TripoSR model.ckpt.
  'checkpointPath',
  'executionProviders',
  // Where each model file is downloaded from instead of its publisher (a mirror), by file name.
  'downloadUrls',
] as const;
export type OptionId = (typeof OPTION_IDS)[number];

/** Things the user does that are not setting one option. */
export const ACTION_IDS = [
  // Write the outputs somewhere else.
  'choose-output-folder',
  // Let a network that is fetched on first use (a background remover) be downloaded.
  'allow-download',
  // Fetch TripoSR's weights.
  'download-model',
  // Fetch a model file from another address (a mirror, or a server on the local network) than its own.
  'download-from-mirror',
  // Get a fresh, complete copy of the program (its native libraries, its stand-in model).
  'reinstall',
  // Run a copy of the program whose files this user may change.
  'install-per-user',
] as const;
export type ActionId = (typeof ACTION_IDS)[number];

export interface OptionRef {
  readonly option: OptionId;
  /** A value to set it to, as both front ends spell it. */
  readonly value?: string;
}

export interface ActionRef {
  readonly action: ActionId;
}

export type HintPart = string | OptionRef | ActionRef;
/** Plain data (it crosses the worker boundary): text with option and action references in it. */
export type Hint = readonly HintPart[];

/** How a front end names options and actions. */
export interface HintWords {
  option(id: OptionId, value?: string): string;
  action(id: ActionId): string;
}

/** The hint as one sentence in a front end's words. */
export function hintText(hint: Hint, words: HintWords): string {
  let text = '';
  for (const part of hint) {
    if (typeof part === 'string') {
      text += part;
      continue;
    }
    const rendered = 'option' in part ? words.option(part.option, part.value) : words.action(part.action);
    // Front ends word actions in lower case, to sit mid-sentence; a reference can also open one.
    text += startsSentence(text) ? capitalise(rendered) : rendered;
  }
  return text;
}

/** For logs and tests where no front end is involved: references show as their ids. */
export const NEUTRAL_HINT_WORDS: HintWords = {
  option: (id, value) => (value === undefined ? `<${id}>` : `<${id}: ${value}>`),
  action: (id) => `<${id}>`,
};

/** Accepts the plain string most hints are. */
export function toHint(hint: string | Hint): Hint {
  return typeof hint === 'string' ? [hint] : hint;
}

function startsSentence(text: string): boolean {
  return text.trim() === '' || /[.!?]\s+$/.test(text);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
