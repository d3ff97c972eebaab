// No vscode import (and nothing native): this module is unit-tested outside the extension host.
import type { ActionId, HintWords, OptionId } from '../pipeline/hint.js';

/** settings.ts's section; not imported from there because that module loads vscode. */
const SECTION = 'imageTo3d';

/** The setting (under imageTo3d.) for each option; a record, so an option a hint starts naming cannot go unworded. */
export const SETTING_KEYS: Readonly<Record<OptionId, string>> = {
  threshold: 'threshold',
  resolution: 'resolution',
  targetTriangles: 'targetTriangles',
  cadTolerance: 'cadTolerance',
  existing: 'existingFiles',
  foregroundRatio: 'foregroundRatio',
  background: 'background',
  backgroundNetwork: 'backgroundNetwork',
  backgroundModelPath: 'backgroundModelPath',
  model: 'model',
  modelPath: 'modelPath',
  checkpointPath: 'checkpointPath',
  executionProviders: 'executionProviders',
  downloadUrls: 'downloadUrls',
};

const EXTENSION_ACTIONS: Readonly<Record<ActionId, string>> = {
  // reportFailure offers that button with output-not-writable, the code these hints come with.
  'choose-output-folder': 'choose another folder with the Choose Folder… button',
  'allow-download': 'allow the download when asked',
  'download-model': 'run "Image to 3D: Download Model" from the Command Palette',
  'download-from-mirror': `download the file from a mirror by giving its address in the setting ${SECTION}.downloadUrls`,
  reinstall: 'reinstall the extension',
  'install-per-user': 'install the extension into your own user profile rather than system-wide',
};

export function settingName(id: OptionId): string {
  return `${SECTION}.${SETTING_KEYS[id]}`;
}

/** Hints as the extension shows them: options are settings, `value` what to set them to. */
export const EXTENSION_HINT_WORDS: HintWords = {
  option: (id, value) => (value === undefined ? `the setting ${settingName(id)}` : `${settingName(id)}: ${value}`),
  action: (id) => EXTENSION_ACTIONS[id],
};
