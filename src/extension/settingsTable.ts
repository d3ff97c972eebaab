/**
 * Every `imageTo3d.*` setting in one table: its type, default, choices and range as package.json
 * declares them (test/extension/settingsManifest.test.ts holds the two together), with the defaults
 * and ranges the library gives its front ends (../pipeline/generateOptions.ts) wherever it has one.
 * A stored value is read through the same table: out of range is clamped, an unknown choice or a value
 * of the wrong type falls back to the default, because settings.json is edited by hand and a bad value
 * should not stop a generation.
 *
 * No vscode import (and nothing native): settings.ts reads the configuration, this module is tested
 * outside the extension host.
 */
import { CONVERT_DEFAULTS, GENERATE_DEFAULTS, GENERATE_LIMITS, PRECISION_SETTINGS, SAMPLING_MODES, parseExecutionProviders, type GenerateDefaults, type NumberLimits } from '../pipeline/generateOptions.js';
import { BACKGROUND_MODES, SEGMENTATION_NETWORKS, type BackgroundMode } from '../pipeline/image/backgroundOptions.js';
import { LENGTH_UNITS, type LengthUnit, type UpAxis } from '../pipeline/readers/formats.js';
import { DXF_ENTITY_KINDS } from '../pipeline/writers/outputs.js';
import { OUTPUT_FORMAT_IDS, type OutputFormat } from '../pipeline/writers/outputFormats.js';

export const SECTION = 'imageTo3d';

/** One of fixed strings (a JSON-schema `enum`). */
export interface ChoiceSetting<T extends string> {
  readonly type: 'string';
  readonly enum: readonly T[];
  readonly default: T;
}
/** Free text; read trimmed. */
export interface TextSetting {
  readonly type: 'string';
  readonly default: string;
}
/** `integer` is rounded as well as clamped. Bounds are inclusive; an absent one is open. */
export interface NumberSetting {
  readonly type: 'number' | 'integer';
  readonly default: number;
  readonly minimum?: number;
  readonly maximum?: number;
}
export interface FlagSetting {
  readonly type: 'boolean';
  readonly default: boolean;
}
/** A list of output formats; unknown ones are dropped, repeats kept once. */
export interface FormatListSetting {
  readonly type: 'array';
  readonly items: { readonly enum: readonly OutputFormat[] };
  readonly default: readonly OutputFormat[];
}
/** File name → URL; entries that are not non-empty strings are dropped. */
export interface UrlMapSetting {
  readonly type: 'object';
  readonly default: Readonly<Record<string, string>>;
}
export type SettingSpec = ChoiceSetting<string> | TextSetting | NumberSetting | FlagSetting | FormatListSetting | UrlMapSetting;

/** What reading a setting of kind S gives. */
export type SettingValue<S extends SettingSpec> =
  S extends ChoiceSetting<infer T>
    ? T
    : S extends TextSetting
      ? string
      : S extends NumberSetting
        ? number
        : S extends FlagSetting
          ? boolean
          : S extends FormatListSetting
            ? readonly OutputFormat[]
            : Readonly<Record<string, string>>;

function choice<T extends string>(choices: readonly T[], fallback: T): ChoiceSetting<T> {
  return { type: 'string', enum: choices, default: fallback };
}

function text(fallback: string): TextSetting {
  return { type: 'string', default: fallback };
}

function number(fallback: number, limits: NumberLimits): NumberSetting {
  return {
    type: limits.integer ? 'integer' : 'number',
    default: fallback,
    ...(limits.min !== undefined ? { minimum: limits.min } : {}),
    ...(limits.max !== undefined ? { maximum: limits.max } : {}),
  };
}

function flag(fallback: boolean): FlagSetting {
  return { type: 'boolean', default: fallback };
}

function formatList(fallback: readonly OutputFormat[]): FormatListSetting {
  return { type: 'array', items: { enum: OUTPUT_FORMAT_IDS }, default: fallback };
}

function urlMap(): UrlMapSetting {
  return { type: 'object', default: Object.freeze({}) };
}

/** Z first: the up axis of CAD programs, slicers and every output but GLB. */
const UP_AXIS_CHOICES: readonly (UpAxis | 'auto')[] = Object.freeze(['auto', 'z', 'y'] as const);
const UNIT_CHOICES: readonly (LengthUnit | 'auto')[] = Object.freeze(['auto', ...LENGTH_UNITS]);
/** `ask` exists only here: the CLI cannot ask, so its default is to fail. */
const EXISTING_FILE_CHOICES = Object.freeze(['ask', 'suffix', 'overwrite'] as const);
const MODEL_CHOICES = Object.freeze(['triposr', 'standin'] as const);

/** Keyed by the name under `imageTo3d.`, in package.json's order. */
export const SETTINGS = Object.freeze({
  model: choice(MODEL_CHOICES, 'triposr'),
  modelPath: text(''),
  checkpointPath: text(''),
  downloadUrls: urlMap(),
  executionProviders: text(GENERATE_DEFAULTS.executionProviders),
  precision: choice(PRECISION_SETTINGS, GENERATE_DEFAULTS.precision),
  background: choice(BACKGROUND_MODES, GENERATE_DEFAULTS.backgroundMode),
  backgroundNetwork: choice(SEGMENTATION_NETWORKS, GENERATE_DEFAULTS.backgroundNetwork),
  backgroundModelPath: text(''),
  foregroundRatio: number(GENERATE_DEFAULTS.foregroundRatio, GENERATE_LIMITS.foregroundRatio),
  saveNetworkInput: flag(GENERATE_DEFAULTS.saveInput),
  resolution: number(GENERATE_DEFAULTS.resolution, GENERATE_LIMITS.resolution),
  threshold: number(GENERATE_DEFAULTS.threshold, GENERATE_LIMITS.threshold),
  sampling: choice(SAMPLING_MODES, GENERATE_DEFAULTS.sampling),
  smoothingIterations: number(GENERATE_DEFAULTS.smoothingIterations, GENERATE_LIMITS.smoothingIterations),
  floaterFraction: number(GENERATE_DEFAULTS.floaterFraction, GENERATE_LIMITS.floaterFraction),
  targetTriangles: number(GENERATE_DEFAULTS.targetTriangles, GENERATE_LIMITS.targetTriangles),
  outputFormats: formatList(GENERATE_DEFAULTS.formats),
  conversionFormats: formatList(CONVERT_DEFAULTS.formats),
  dxfEntity: choice(DXF_ENTITY_KINDS, GENERATE_DEFAULTS.dxfEntity),
  meshUpAxis: choice(UP_AXIS_CHOICES, CONVERT_DEFAULTS.up),
  meshUnits: choice(UNIT_CHOICES, CONVERT_DEFAULTS.units),
  longestSideMm: number(GENERATE_DEFAULTS.longestSideMm, GENERATE_LIMITS.longestSideMm),
  cadTolerance: number(GENERATE_DEFAULTS.cadTolerance, GENERATE_LIMITS.cadTolerance),
  existingFiles: choice(EXISTING_FILE_CHOICES, 'ask'),
});

export type SettingKey = keyof typeof SETTINGS;

/** The generation options that settings hold under the library's own names. */
type SharedWithLibrary = 'resolution' | 'threshold' | 'sampling' | 'smoothingIterations' | 'floaterFraction' | 'targetTriangles' | 'longestSideMm' | 'cadTolerance' | 'dxfEntity' | 'backgroundNetwork' | 'foregroundRatio' | 'precision';

/** The one place settings are read: everything else receives this typed object. */
export interface Settings extends Pick<GenerateDefaults, SharedWithLibrary> {
  readonly model: (typeof MODEL_CHOICES)[number];
  readonly modelPath: string;
  readonly checkpointPath: string;
  readonly downloadUrls: Readonly<Record<string, string>>;
  readonly executionProviders: readonly string[] | 'auto';
  readonly background: BackgroundMode;
  /** A local ONNX file of backgroundNetwork; empty: downloaded into global storage. */
  readonly backgroundModelPath: string;
  /** Also write <name>.input.png and <name>.mask.png. */
  readonly saveNetworkInput: boolean;
  readonly outputFormats: readonly OutputFormat[];
  /** Preselected when converting a mesh file. */
  readonly conversionFormats: readonly OutputFormat[];
  /** For converted mesh files; undefined: by the file's format. */
  readonly meshUpAxis: UpAxis | undefined;
  readonly meshUnits: LengthUnit | undefined;
  readonly existingFiles: (typeof EXISTING_FILE_CHOICES)[number];
}

/**
 * Settings from raw stored values (what `getConfiguration(SECTION).get(key)` returns; undefined for
 * one not set anywhere), each made safe by its entry in SETTINGS.
 */
export function settingsFrom(read: (key: SettingKey) => unknown): Settings {
  const value = <K extends SettingKey>(key: K): SettingValue<(typeof SETTINGS)[K]> => coerceSetting(SETTINGS[key], read(key));
  const upAxis = value('meshUpAxis');
  const units = value('meshUnits');
  return {
    model: value('model'),
    modelPath: value('modelPath'),
    checkpointPath: value('checkpointPath'),
    downloadUrls: value('downloadUrls'),
    precision: value('precision'),
    executionProviders: parseExecutionProviders(value('executionProviders')),
    background: value('background'),
    backgroundNetwork: value('backgroundNetwork'),
    backgroundModelPath: value('backgroundModelPath'),
    foregroundRatio: value('foregroundRatio'),
    saveNetworkInput: value('saveNetworkInput'),
    resolution: value('resolution'),
    threshold: value('threshold'),
    sampling: value('sampling'),
    smoothingIterations: value('smoothingIterations'),
    floaterFraction: value('floaterFraction'),
    targetTriangles: value('targetTriangles'),
    outputFormats: value('outputFormats'),
    conversionFormats: value('conversionFormats'),
    dxfEntity: value('dxfEntity'),
    meshUpAxis: upAxis === 'auto' ? undefined : upAxis,
    meshUnits: units === 'auto' ? undefined : units,
    longestSideMm: value('longestSideMm'),
    cadTolerance: value('cadTolerance'),
    existingFiles: value('existingFiles'),
  };
}

/** A stored value made safe by its table entry. */
export function coerceSetting<S extends SettingSpec>(spec: S, raw: unknown): SettingValue<S> {
  return coerce(spec, raw) as SettingValue<S>;
}

function coerce(spec: SettingSpec, raw: unknown): unknown {
  switch (spec.type) {
    case 'string':
      if ('enum' in spec) return typeof raw === 'string' && spec.enum.includes(raw) ? raw : spec.default;
      return typeof raw === 'string' ? raw.trim() : spec.default;
    case 'number':
    case 'integer':
      return coerceNumber(spec, raw);
    case 'boolean':
      return typeof raw === 'boolean' ? raw : spec.default;
    case 'array':
      return Array.isArray(raw) ? knownFormats(raw, spec.items.enum) : spec.default;
    case 'object':
      return typeof raw === 'object' && raw !== null ? nonEmptyStrings(raw) : spec.default;
  }
}

function coerceNumber(spec: NumberSetting, raw: unknown): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return spec.default;
  const value = spec.type === 'integer' ? Math.round(raw) : raw;
  return Math.min(spec.maximum ?? Infinity, Math.max(spec.minimum ?? -Infinity, value));
}

/** The formats of a setting that this version knows, each once, in the setting's order. */
function knownFormats(value: readonly unknown[], known: readonly OutputFormat[]): OutputFormat[] {
  return [...new Set(value.filter((f): f is OutputFormat => (known as readonly unknown[]).includes(f)))];
}

function nonEmptyStrings(value: object): Record<string, string> {
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== ''));
}
