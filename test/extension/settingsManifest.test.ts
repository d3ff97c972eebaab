/**
 * One source for every default and limit: the library's GENERATE_DEFAULTS, GENERATE_LIMITS and
 * CONVERT_DEFAULTS (src/pipeline/generateOptions.ts) feed the settings table (src/extension/settingsTable.ts)
 * and the CLI; package.json, the README and the CLI's help must say the same. Each test compares two
 * sides, so changing either one alone fails it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CONVERT_DEFAULTS, GENERATE_DEFAULTS, GENERATE_LIMITS, PRECISION_SETTINGS, SAMPLING_MODES, type NumericGenerateOption } from '../../src/pipeline/generateOptions.js';
import { BACKGROUND_MODES } from '../../src/pipeline/image/backgroundOptions.js';
import { SEGMENTATION_NETWORKS } from '../../src/pipeline/image/segmentation.js';
import { LENGTH_UNITS } from '../../src/pipeline/readers/formats.js';
import { DXF_ENTITY_KINDS } from '../../src/pipeline/writers/outputs.js';
import { OUTPUT_FORMAT_IDS } from '../../src/pipeline/writers/outputFormats.js';
import { SECTION, SETTINGS, coerceSetting, settingsFrom, type SettingKey, type SettingSpec } from '../../src/extension/settingsTable.js';

const root = path.join(__dirname, '..', '..');
const manifestText = readFileSync(path.join(root, 'package.json'), 'utf8');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

interface Declared {
  type?: string;
  default?: unknown;
  enum?: unknown[];
  items?: { enum?: unknown[] };
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  scope?: string;
}
const declared = (JSON.parse(manifestText) as { contributes: { configuration: { properties: Record<string, Declared> } } }).contributes.configuration
  .properties;
const PREFIX = `${SECTION}.`;
const tableKeys = Object.keys(SETTINGS) as SettingKey[];

/** Where each setting's default comes from: the library's defaults for a generation or a conversion. */
const FROM_GENERATE: Partial<Record<SettingKey, keyof typeof GENERATE_DEFAULTS>> = {
  executionProviders: 'executionProviders',
  precision: 'precision',
  background: 'backgroundMode',
  backgroundNetwork: 'backgroundNetwork',
  foregroundRatio: 'foregroundRatio',
  saveNetworkInput: 'saveInput',
  resolution: 'resolution',
  threshold: 'threshold',
  sampling: 'sampling',
  smoothingIterations: 'smoothingIterations',
  floaterFraction: 'floaterFraction',
  targetTriangles: 'targetTriangles',
  outputFormats: 'formats',
  dxfEntity: 'dxfEntity',
  longestSideMm: 'longestSideMm',
  cadTolerance: 'cadTolerance',
};
const FROM_CONVERT: Partial<Record<SettingKey, keyof typeof CONVERT_DEFAULTS>> = {
  conversionFormats: 'formats',
  meshUpAxis: 'up',
  meshUnits: 'units',
};
/** Settings the library has no default for: the extension's own. */
const EXTENSION_ONLY: readonly SettingKey[] = ['model', 'modelPath', 'checkpointPath', 'downloadUrls', 'backgroundModelPath', 'existingFiles'];
/** The choices the library lists, where it lists them. */
const LIBRARY_CHOICES: Partial<Record<SettingKey, readonly string[]>> = {
  precision: PRECISION_SETTINGS,
  background: BACKGROUND_MODES,
  backgroundNetwork: SEGMENTATION_NETWORKS,
  sampling: SAMPLING_MODES,
  dxfEntity: DXF_ENTITY_KINDS,
  meshUnits: ['auto', ...LENGTH_UNITS],
};
/** The settings that are numeric options of a generation. */
const NUMERIC: Partial<Record<SettingKey, NumericGenerateOption>> = {
  foregroundRatio: 'foregroundRatio',
  resolution: 'resolution',
  threshold: 'threshold',
  smoothingIterations: 'smoothingIterations',
  floaterFraction: 'floaterFraction',
  targetTriangles: 'targetTriangles',
  longestSideMm: 'longestSideMm',
  cadTolerance: 'cadTolerance',
};

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

test('package.json declares exactly the settings of the table, each once', () => {
  const manifestKeys = Object.keys(declared)
    .filter((k) => k.startsWith(PREFIX))
    .map((k) => k.slice(PREFIX.length));
  assert.deepEqual([...manifestKeys].sort(), [...tableKeys].sort());
  // JSON.parse keeps the last of repeated keys silently; the text shows them.
  for (const key of tableKeys) assert.equal(count(manifestText, `"${PREFIX}${key}":`), 1, `${PREFIX}${key} declared more than once`);
});

test('every setting may be read for the file a command acts on (resource scope, or machine-overridable paths)', () => {
  // readSettings passes the image's or mesh's URI: VS Code warns about, and in a multi-root workspace
  // ignores folder values of, a window-scoped setting read that way.
  const wrong = Object.entries(declared)
    .filter(([, setting]) => setting.scope !== 'resource' && setting.scope !== 'machine-overridable')
    .map(([key, setting]) => `${key}: ${setting.scope ?? 'window (default)'}`);
  assert.deepEqual(wrong, []);
});

test("each setting's type, default, choices and range in package.json are the table's", () => {
  for (const key of tableKeys) {
    const spec: SettingSpec = SETTINGS[key];
    const setting = declared[`${PREFIX}${key}`];
    assert.ok(setting, `${PREFIX}${key} is missing`);
    assert.equal(setting.type, spec.type, `${PREFIX}${key} type (integer settings are "integer")`);
    assert.deepEqual(setting.default, spec.default, `${PREFIX}${key} default`);
    assert.deepEqual(setting.enum, 'enum' in spec ? [...spec.enum] : undefined, `${PREFIX}${key} choices`);
    assert.deepEqual(setting.items?.enum, spec.type === 'array' ? [...spec.items.enum] : undefined, `${PREFIX}${key} item choices`);
    const range = spec.type === 'number' || spec.type === 'integer' ? spec : {};
    assert.equal(setting.minimum, 'minimum' in range ? range.minimum : undefined, `${PREFIX}${key} minimum`);
    assert.equal(setting.maximum, 'maximum' in range ? range.maximum : undefined, `${PREFIX}${key} maximum`);
    // The table's bounds are inclusive; an exclusive one in the manifest would be a second, different limit.
    assert.equal(setting.exclusiveMinimum, undefined, `${PREFIX}${key} exclusiveMinimum`);
    assert.equal(setting.exclusiveMaximum, undefined, `${PREFIX}${key} exclusiveMaximum`);
  }
});

test("the table's defaults, choices and ranges are the library's", () => {
  for (const key of tableKeys) {
    const sources = [FROM_GENERATE[key], FROM_CONVERT[key], EXTENSION_ONLY.includes(key) ? 'extension' : undefined].filter(Boolean);
    assert.equal(sources.length, 1, `${PREFIX}${key}: say where its default comes from (library or extension only)`);
  }
  for (const [key, option] of Object.entries(FROM_GENERATE) as [SettingKey, keyof typeof GENERATE_DEFAULTS][]) {
    assert.deepEqual(SETTINGS[key].default, GENERATE_DEFAULTS[option], `${PREFIX}${key} default is GENERATE_DEFAULTS.${option}`);
  }
  for (const [key, option] of Object.entries(FROM_CONVERT) as [SettingKey, keyof typeof CONVERT_DEFAULTS][]) {
    assert.deepEqual(SETTINGS[key].default, CONVERT_DEFAULTS[option], `${PREFIX}${key} default is CONVERT_DEFAULTS.${option}`);
  }
  for (const [key, choices] of Object.entries(LIBRARY_CHOICES) as [SettingKey, readonly string[]][]) {
    const spec: SettingSpec = SETTINGS[key];
    assert.ok('enum' in spec, `${PREFIX}${key} has choices`);
    assert.deepEqual(spec.enum, choices, `${PREFIX}${key} choices`);
  }
  assert.deepEqual(SETTINGS.outputFormats.items.enum, OUTPUT_FORMAT_IDS);
  assert.deepEqual(SETTINGS.conversionFormats.items.enum, OUTPUT_FORMAT_IDS);
  for (const key of tableKeys) {
    const spec: SettingSpec = SETTINGS[key];
    if (spec.type !== 'number' && spec.type !== 'integer') continue;
    const option = NUMERIC[key];
    assert.ok(option, `${PREFIX}${key} is numeric but not a GENERATE_LIMITS option`);
    const limits = GENERATE_LIMITS[option];
    assert.equal(spec.type, limits.integer ? 'integer' : 'number', `${PREFIX}${key} integer`);
    assert.equal(spec.minimum, limits.min, `${PREFIX}${key} minimum`);
    assert.equal(spec.maximum, limits.max, `${PREFIX}${key} maximum`);
  }
  // One setting, imageTo3d.dxfEntity, serves both kinds of run.
  assert.equal(CONVERT_DEFAULTS.dxfEntity, GENERATE_DEFAULTS.dxfEntity);
});

/**
 * How the README's Settings table writes a default: strings as code (`auto`), the empty string as
 * "empty", numbers as JavaScript prints them (100000, 0.85), booleans as "on"/"off", lists as their
 * items in code separated by ", " (`glb`, `dxf`) or "none" when empty, and objects as `{}` when empty.
 */
function readmeDefault(value: unknown): string {
  if (value === '') return 'empty';
  if (typeof value === 'string') return `\`${value}\``;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map((v) => `\`${String(v)}\``).join(', ');
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) return '`{}`';
  throw new Error(`no README form for the default ${JSON.stringify(value)}`);
}

function readmeSection(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

test('the README Settings table lists exactly the settings, each once, with their defaults and ranges', () => {
  const rows = readmeSection('Settings')
    .split('\n')
    .map((line) => /^\|\s*`([^`]+)`\s*\|\s*(.*?)\s*\|(.*)\|\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null);
  const listed = rows.map((m) => m[1]);
  assert.deepEqual([...listed].sort(), tableKeys.map((k) => `${PREFIX}${k}`).sort(), 'README settings');
  assert.equal(new Set(listed).size, listed.length, 'a setting is listed twice in the README');
  for (const [, name, written, description] of rows) {
    const spec: SettingSpec = SETTINGS[name.slice(PREFIX.length) as SettingKey];
    assert.equal(written, readmeDefault(spec.default), `README default of ${name}`);
    // A range closed at both ends is written "min–max" (en dash) in the description.
    if ('minimum' in spec && 'maximum' in spec) assert.ok(description.includes(`${spec.minimum}–${spec.maximum}`), `README range of ${name}: ${description}`);
  }
});

test("the README's Command line section gives the CLI's default formats", () => {
  const section = readmeSection('Command line');
  assert.ok(section.includes(`an image gives ${readmeDefault(GENERATE_DEFAULTS.formats)}`), 'image default formats');
  assert.ok(section.includes(`a mesh file ${readmeDefault(CONVERT_DEFAULTS.formats)}`), 'mesh default formats');
});

/** The range as the CLI's help writes it. */
function rangeText(option: NumericGenerateOption): string {
  const { min, max } = GENERATE_LIMITS[option];
  if (min !== undefined && max !== undefined) return `${min} to ${max}`;
  if (min !== undefined) return `≥ ${min}`;
  if (max !== undefined) return `≤ ${max}`;
  return '';
}

/** The CLI's flag for each numeric option of a generation. */
const CLI_FLAGS: Record<NumericGenerateOption, string> = {
  resolution: '--resolution',
  threshold: '--threshold',
  smoothingIterations: '--smooth',
  floaterFraction: '--floaters',
  targetTriangles: '--triangles',
  longestSideMm: '--size',
  cadTolerance: '--cad-tolerance',
  foregroundRatio: '--foreground-ratio',
};

/**
 * Runs the CLI's main() from source in this process (the built dist/cli.js may be stale), collecting
 * what it writes. Only stderr is taken over while it runs: the test reporter writes to stdout, and the
 * help is written before main() first awaits.
 */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let running: Promise<number>;
  try {
    running = main(args);
  } finally {
    process.stdout.write = writeOut;
  }
  try {
    return { code: await running, stdout, stderr };
  } finally {
    process.stderr.write = writeErr;
  }
}

/** A flag's line in the help and the indented lines that continue it. */
function helpEntry(help: string, flag: string): string {
  const lines = help.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`  ${flag} `));
  assert.ok(start >= 0, `the help has no ${flag}`);
  const end = lines.findIndex((line, i) => i > start && !/^ {20,}\S/.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

test("the CLI's help shows each numeric option's default and range from the library", async () => {
  const { code, stdout: help } = await cli(['--help']);
  assert.equal(code, 0);
  for (const [option, flag] of Object.entries(CLI_FLAGS) as [NumericGenerateOption, string][]) {
    const entry = helpEntry(help, flag);
    const range = rangeText(option);
    assert.ok(entry.includes(`(${range ? `${range}, ` : ''}default ${GENERATE_DEFAULTS[option]}`), `${flag}: ${entry}`);
  }
  const formats = helpEntry(help, '--formats');
  assert.ok(formats.includes(`${GENERATE_DEFAULTS.formats.join(',')} for an image`), formats);
  assert.ok(formats.includes(`${CONVERT_DEFAULTS.formats.join(',')} for a mesh file`), formats);
  for (const [flag, value] of [
    ['--dxf', GENERATE_DEFAULTS.dxfEntity],
    ['--background', GENERATE_DEFAULTS.backgroundMode],
    ['--background-network', GENERATE_DEFAULTS.backgroundNetwork],
    ['--precision', GENERATE_DEFAULTS.precision],
    ['--providers', GENERATE_DEFAULTS.executionProviders],
  ] as const) {
    assert.match(helpEntry(help, flag), new RegExp(`default ${value}\\b`), flag);
  }
});

test("the CLI accepts each numeric option's bounds and refuses values past them", async () => {
  // A missing image: a value the parser accepts gets as far as the image check (exit 1), a refused one exits 2.
  const image = path.join(root, 'no-such-image.png');
  const cases: { flag: string; value: number; accepted: boolean }[] = [];
  for (const [option, flag] of Object.entries(CLI_FLAGS) as [NumericGenerateOption, string][]) {
    const { min, max, integer } = GENERATE_LIMITS[option];
    const step = integer ? 1 : 0.001;
    if (min !== undefined) cases.push({ flag, value: min, accepted: true }, { flag, value: min - step, accepted: false });
    if (max !== undefined) cases.push({ flag, value: max, accepted: true }, { flag, value: max + step, accepted: false });
    if (integer) cases.push({ flag, value: (min ?? 0) + 0.5, accepted: false });
  }
  for (const c of cases) {
    // --flag=value: a negative value would read as a flag of its own.
    const { code, stderr } = await cli([image, '--model', 'standin', `${c.flag}=${c.value}`]);
    assert.equal(code === 2, !c.accepted, `${c.flag} ${c.value}: exit ${code}, ${stderr}`);
    if (!c.accepted) assert.match(stderr, new RegExp(`^${c.flag} takes`), `${c.flag} ${c.value}`);
  }
});

test('reading a setting clamps numbers into range and falls back to the default for unknown or mistyped values', () => {
  for (const key of tableKeys) {
    const spec: SettingSpec = SETTINGS[key];
    assert.deepEqual(coerceSetting(spec, undefined), spec.default, `${key} unset`);
    switch (spec.type) {
      case 'number':
      case 'integer':
        assert.equal(coerceSetting(spec, 'lots'), spec.default, `${key} text`);
        assert.equal(coerceSetting(spec, Number.NaN), spec.default, `${key} NaN`);
        if (spec.minimum !== undefined) assert.equal(coerceSetting(spec, spec.minimum - 1), spec.minimum, `${key} below`);
        if (spec.maximum !== undefined) assert.equal(coerceSetting(spec, spec.maximum + 1), spec.maximum, `${key} above`);
        if (spec.minimum === undefined) assert.equal(coerceSetting(spec, -1e9), -1e9, `${key} has no lower bound`);
        if (spec.type === 'integer') assert.equal(coerceSetting(spec, spec.default + 0.4), spec.default, `${key} rounds`);
        break;
      case 'string':
        if ('enum' in spec) assert.equal(coerceSetting(spec, 'no-such-choice'), spec.default, `${key} unknown choice`);
        else assert.equal(coerceSetting(spec, '  padded  '), 'padded', `${key} trimmed`);
        assert.equal(coerceSetting(spec, 7), spec.default, `${key} not text`);
        break;
      case 'boolean':
        assert.equal(coerceSetting(spec, 'true'), spec.default, `${key} not boolean`);
        break;
      case 'array':
        assert.deepEqual(coerceSetting(spec, ['stl', 'nope', 'stl', 'glb']), ['stl', 'glb'], `${key} unknown and repeated formats`);
        assert.deepEqual(coerceSetting(spec, 'glb'), spec.default, `${key} not a list`);
        break;
      case 'object':
        assert.deepEqual(coerceSetting(spec, { 'model.ckpt': 'https://mirror/model.ckpt', 'config.yaml': ' ', x: 3 }), {
          'model.ckpt': 'https://mirror/model.ckpt',
        });
        assert.deepEqual(coerceSetting(spec, 'https://mirror'), spec.default, `${key} not an object`);
        break;
    }
  }
});

test('settings read with nothing set are the table defaults, auto meaning "by the file" for mesh conventions', () => {
  const settings = settingsFrom(() => undefined);
  assert.equal(settings.resolution, GENERATE_DEFAULTS.resolution);
  assert.deepEqual(settings.outputFormats, GENERATE_DEFAULTS.formats);
  assert.deepEqual(settings.conversionFormats, CONVERT_DEFAULTS.formats);
  assert.equal(settings.executionProviders, 'auto');
  assert.equal(settings.meshUpAxis, undefined);
  assert.equal(settings.meshUnits, undefined);
  assert.equal(settings.existingFiles, 'ask');
  const stored: Partial<Record<SettingKey, unknown>> = { meshUpAxis: 'y', meshUnits: 'in', executionProviders: ' CUDA, cpu ', resolution: 4096 };
  const chosen = settingsFrom((key) => stored[key]);
  assert.equal(chosen.meshUpAxis, 'y');
  assert.equal(chosen.meshUnits, 'in');
  assert.deepEqual(chosen.executionProviders, ['cuda', 'cpu']);
  assert.equal(chosen.resolution, GENERATE_LIMITS.resolution.max);
});
