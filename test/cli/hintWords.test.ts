/**
 * The CLI words hints with its flags. These tests run the CLI's own argument parsing and help text
 * (from source, no build needed), so renaming a flag without rewording the hints that name it fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ACTION_IDS, hintText, OPTION_IDS, type Hint, type OptionId } from '../../src/pipeline/hint.js';
import { CLI_FLAGS, CLI_HINT_WORDS } from '../../src/cli/hintWords.js';
import { EXTENSION_HINT_WORDS } from '../../src/extension/hintWords.js';
import { pipelineText } from '../fixtures/hintReferences.js';
import { libraryHints } from '../fixtures/libraryHints.js';

const root = path.join(__dirname, '..', '..');
const MAIN = path.join(root, 'src', 'cli', 'main.ts');
const FLAG_IN_TEXT = /--[a-z][a-z-]*/g;

function runMain(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: root, encoding: 'utf8' });
}

interface UsageEntry {
  /** Shown with an argument ("--out DIR"), so parseArgs wants a value for it. */
  readonly takesValue: boolean;
  /** Its line in the help text and the indented lines under it. */
  readonly text: string;
}

/** The flags --help documents, each with its description. */
function usage(): Map<string, UsageEntry> {
  const help = runMain(['--help']);
  assert.equal(help.status, 0, help.stderr);
  const entries = new Map<string, { takesValue: boolean; lines: string[] }>();
  let current: { takesValue: boolean; lines: string[] } | undefined;
  for (const line of help.stdout.split('\n')) {
    const flag = /^ {2}(?:-\w, )?(--[a-z][a-z-]*)( [A-Z])?/.exec(line);
    if (flag) {
      current = { takesValue: flag[2] !== undefined, lines: [line] };
      entries.set(flag[1]!, current);
    } else if (current && /^ {3,}\S/.test(line)) {
      current.lines.push(line);
    } else {
      current = undefined;
    }
  }
  return new Map([...entries].map(([flag, e]) => [flag, { takesValue: e.takesValue, text: e.lines.join('\n') }]));
}

const documented = usage();

/** Every flag the CLI's hint words mention: the option flags and any inside an action's words. */
function flagsInWords(): string[] {
  const fromActions = ACTION_IDS.flatMap((id) => CLI_HINT_WORDS.action(id).match(FLAG_IN_TEXT) ?? []);
  return [...new Set([...OPTION_IDS.map((id) => CLI_FLAGS[id]), ...fromActions])];
}

test('every flag a hint names is in the help text', () => {
  const undocumented = flagsInWords().filter((flag) => !documented.has(flag));
  assert.deepEqual(undocumented, [], `hint words name flags --help does not list: ${[...documented.keys()].join(' ')}`);
});

test("every flag a hint names is one the CLI's parser accepts", () => {
  const flags = flagsInWords();
  const args = flags.map((flag) => (documented.get(flag)?.takesValue ? `${flag}=x` : flag));
  const run = runMain([...args, '--help']);
  assert.equal(run.status, 0, `parseArgs refused one of ${args.join(' ')}: ${run.stderr.split('\n')[0]}`);
  // And the check can fail: a flag the CLI does not have is refused.
  const bogus = runMain(['--no-such-flag', '--help']);
  assert.equal(bogus.status, 2, bogus.stderr);
});

test('every value a library hint suggests is one its flag documents', () => {
  const bad: string[] = [];
  for (const ref of pipelineText().references) {
    if (ref.option === undefined || ref.value === undefined) continue;
    const flag = CLI_FLAGS[ref.option as OptionId];
    if (!documented.get(flag)?.text.includes(ref.value)) bad.push(`${ref.at}: ${flag} ${ref.value}`);
  }
  assert.deepEqual(bad, []);
});

test("the CLI's words never name an extension setting", () => {
  for (const id of OPTION_IDS) assert.doesNotMatch(CLI_HINT_WORDS.option(id, 'x'), /imageTo3d\./, id);
  for (const id of ACTION_IDS) {
    const words = CLI_HINT_WORDS.action(id);
    assert.ok(words.trim().length > 0, id);
    assert.doesNotMatch(words, /imageTo3d\.|VS Code|Command Palette|button/, `${id}: ${words}`);
  }
});

test('a hint reads as a sentence with flags in it', () => {
  const hint: Hint = [
    { action: 'allow-download' },
    ', point at a file you have (',
    { option: 'backgroundModelPath' },
    '), or keep the background (',
    { option: 'background', value: 'keep' },
    ').',
  ];
  assert.equal(
    hintText(hint, CLI_HINT_WORDS),
    'Allow the download by running without --no-download, point at a file you have (--background-model), or keep the background (--background keep).',
  );
  assert.equal(hintText(['Lower the threshold (', { option: 'threshold' }, ') below 3.'], CLI_HINT_WORDS), 'Lower the threshold (--threshold) below 3.');
});

/** Words that belong to the extension: a CLI user has no settings, Command Palette or VS Code to turn to. */
const EXTENSION_WORDS = /VS Code|Command Palette|\bsetting\b|imageTo3d\./i;

/** Every hint src/pipeline can give, each branch of it, as the CLI prints it. */
function renderedHints(): { at: string; text: string; hint: Hint }[] {
  return libraryHints().flatMap((h) => h.variants.map((hint) => ({ at: h.at, text: hintText(hint, CLI_HINT_WORDS), hint })));
}

test("no hint the library gives reads, in the CLI's words, as the extension's", () => {
  const rendered = renderedHints();
  // The collector follows hints through constants, conditionals and spreads; if it found next to none,
  // this test would pass without reading anything.
  assert.ok(rendered.length > 100, `only ${rendered.length} hints found`);
  assert.ok(rendered.some((r) => r.text.startsWith('Run again without --no-download')), 'the model-missing hint is among them');
  const bad = rendered.filter((r) => EXTENSION_WORDS.test(r.text)).map((r) => `${r.at}: ${r.text}`);
  assert.deepEqual(bad, []);
  // And the check can fail: the extension's own words for the same hint are caught.
  assert.match(hintText([{ action: 'download-model' }], EXTENSION_HINT_WORDS), EXTENSION_WORDS);
});

test('with --no-download, a missing model says to run again without it', () => {
  const missing = renderedHints().filter((r) => r.hint.some((part) => typeof part === 'object' && 'action' in part && part.action === 'download-model'));
  assert.ok(missing.length > 0);
  for (const { at, text } of missing) assert.match(text, /^Run again without --no-download\b/, at);
});

test('hints about existing outputs name only policies --existing takes', () => {
  const accepted = /fail \(default\), suffix, overwrite/.exec(documented.get('--existing')?.text ?? '');
  assert.ok(accepted, '--help lists the policies');
  const policies = ['ask', 'fail', 'suffix', 'overwrite'];
  const aboutExisting = renderedHints().filter((r) => r.hint.some((part) => typeof part === 'object' && 'option' in part && part.option === 'existing'));
  assert.ok(aboutExisting.length >= 2, 'the output-exists hints are found');
  for (const { at, text } of aboutExisting) {
    const named = policies.filter((p) => new RegExp(`\\b${p}\\b`).test(text));
    assert.ok(named.length > 0, `${at}: ${text} names a policy`);
    assert.ok(!named.includes('ask'), `${at}: ${text}`);
  }
});
