import * as vscode from 'vscode';
import type { OutputFormat } from '../pipeline/writers/outputs.js';
import { DEFAULT_OUTPUT_FORMATS, DXF_ENTITY_KINDS, OUTPUT_FORMATS, type DxfEntityKind } from '../pipeline/writers/outputs.js';
import type { PrecisionSetting } from '../pipeline/network/modelSource.js';
import { LENGTH_UNITS, type LengthUnit, type UpAxis } from '../pipeline/readers/formats.js';
import { BACKGROUND_MODES, DEFAULT_BACKGROUND_MODE, DEFAULT_SEGMENTATION_NETWORK, FOREGROUND_RATIO, FOREGROUND_RATIO_RANGE, type BackgroundMode } from '../pipeline/image/backgroundOptions.js';
import { SEGMENTATION_NETWORKS, type SegmentationNetwork } from '../pipeline/image/segmentation.js';

/** The one place settings are read: everything else receives this typed object. */
export interface Settings {
  readonly model: 'triposr' | 'standin';
  readonly modelPath: string;
  readonly checkpointPath: string;
  readonly downloadUrls: Readonly<Record<string, string>>;
  readonly precision: PrecisionSetting;
  readonly executionProviders: readonly string[] | 'auto';
  readonly background: BackgroundMode;
  readonly backgroundNetwork: SegmentationNetwork;
  /** A local ONNX file of backgroundNetwork; empty: downloaded into global storage. */
  readonly backgroundModelPath: string;
  readonly foregroundRatio: number;
  /** Also write <name>.input.png and <name>.mask.png. */
  readonly saveNetworkInput: boolean;
  readonly resolution: number;
  readonly threshold: number;
  readonly sampling: 'adaptive' | 'dense';
  readonly smoothingIterations: number;
  readonly floaterFraction: number;
  readonly targetTriangles: number;
  readonly outputFormats: readonly OutputFormat[];
  /** Preselected when converting a mesh file. */
  readonly conversionFormats: readonly OutputFormat[];
  readonly dxfEntity: DxfEntityKind;
  /** For converted mesh files; undefined: by the file's format. */
  readonly meshUpAxis: UpAxis | undefined;
  readonly meshUnits: LengthUnit | undefined;
  readonly longestSideMm: number;
  readonly existingFiles: 'ask' | 'suffix' | 'overwrite';
}

export const SECTION = 'imageTo3d';

export function readSettings(scope?: vscode.Uri): Settings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const formats = knownFormats(config.get<string[]>('outputFormats', [...DEFAULT_OUTPUT_FORMATS]));
  const upAxis = config.get<string>('meshUpAxis', 'auto');
  const units = config.get<string>('meshUnits', 'auto');
  const dxfEntity = config.get<string>('dxfEntity', '3dface');
  const existing = config.get<string>('existingFiles', 'ask');
  const precision = config.get<string>('precision', 'auto');
  const background = config.get<string>('background', DEFAULT_BACKGROUND_MODE);
  const backgroundNetwork = config.get<string>('backgroundNetwork', DEFAULT_SEGMENTATION_NETWORK);
  return {
    model: config.get<string>('model', 'triposr') === 'standin' ? 'standin' : 'triposr',
    modelPath: config.get<string>('modelPath', '').trim(),
    checkpointPath: config.get<string>('checkpointPath', '').trim(),
    downloadUrls: stringRecord(config.get<unknown>('downloadUrls', {})),
    precision: precision === 'fp32' || precision === 'fp16' ? precision : 'auto',
    executionProviders: parseProviders(config.get<string>('executionProviders', 'auto')),
    background: (BACKGROUND_MODES as readonly string[]).includes(background) ? (background as BackgroundMode) : DEFAULT_BACKGROUND_MODE,
    backgroundNetwork: (SEGMENTATION_NETWORKS as readonly string[]).includes(backgroundNetwork)
      ? (backgroundNetwork as SegmentationNetwork)
      : DEFAULT_SEGMENTATION_NETWORK,
    backgroundModelPath: config.get<string>('backgroundModelPath', '').trim(),
    foregroundRatio: clamp(config.get<number>('foregroundRatio', FOREGROUND_RATIO), FOREGROUND_RATIO_RANGE.min, FOREGROUND_RATIO_RANGE.max, FOREGROUND_RATIO),
    saveNetworkInput: config.get<boolean>('saveNetworkInput', false) === true,
    resolution: clampInt(config.get<number>('resolution', 256), 32, 512),
    threshold: config.get<number>('threshold', 25),
    sampling: config.get<string>('sampling', 'adaptive') === 'dense' ? 'dense' : 'adaptive',
    smoothingIterations: clampInt(config.get<number>('smoothingIterations', 10), 0, 200),
    floaterFraction: Math.min(1, Math.max(0, config.get<number>('floaterFraction', 0.02))),
    targetTriangles: Math.max(0, Math.round(config.get<number>('targetTriangles', 100_000))),
    outputFormats: formats,
    conversionFormats: knownFormats(config.get<string[]>('conversionFormats', ['step', 'dxf'])),
    dxfEntity: (DXF_ENTITY_KINDS as readonly string[]).includes(dxfEntity) ? (dxfEntity as DxfEntityKind) : '3dface',
    meshUpAxis: upAxis === 'y' || upAxis === 'z' ? upAxis : undefined,
    meshUnits: (LENGTH_UNITS as readonly string[]).includes(units) ? (units as LengthUnit) : undefined,
    longestSideMm: Math.max(0.001, config.get<number>('longestSideMm', 100)),
    existingFiles: existing === 'suffix' || existing === 'overwrite' ? existing : 'ask',
  };
}

export function parseProviders(text: string): readonly string[] | 'auto' {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  return names.length === 0 || names.includes('auto') ? 'auto' : names;
}

/** The formats of a setting that this version knows, each once, in the setting's order. */
function knownFormats(value: unknown): OutputFormat[] {
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((f): f is OutputFormat => (OUTPUT_FORMATS as readonly string[]).includes(f)))];
}

function clamp(value: number, min: number, max: number, fallback: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

function clampInt(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== ''));
}
