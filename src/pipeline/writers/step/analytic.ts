import type { FittedSurface } from '../../mesh/fit/surfaces.js';
import type { EntityWriter } from './brep.js';
import { roundDirection } from './tolerance.js';
import { COORD_DECIMALS, GRID_PER_MM } from './weld.js';

/**
 * Writes a recognised curved surface (CYLINDRICAL_SURFACE, CONICAL_SURFACE, SPHERICAL_SURFACE, or a
 * PLANE) with its placement, returning the surface's id. There are a handful per part, so plain text
 * is fine here. Directions get 12 decimals: a tilt of 10^-12 moves nothing measurably over any part.
 */
const DIRECTION_DECIMALS = 12;
/** Radians, for the cone's semi-angle. */
const ANGLE_DECIMALS = 12;

export function writeAnalyticSurface(w: EntityWriter, surface: FittedSurface): number {
  const { out } = w;
  const location = w.open();
  out.text("CARTESIAN_POINT('',(");
  for (let c = 0; c < 3; c++) {
    if (c > 0) out.char(44);
    out.fixed(Math.round(surface.location[c]! * GRID_PER_MM) + 0, COORD_DECIMALS);
  }
  out.text('));\n');
  const axis = writeDirection(w, surface.axis);
  const reference = writeDirection(w, surface.reference);
  const placement = w.add(`AXIS2_PLACEMENT_3D('',#${location},#${axis},#${reference})`);
  const id = w.open();
  switch (surface.kind) {
    case 'plane':
      out.text(`PLANE('',#${placement}`);
      break;
    case 'cylinder':
      out.text(`CYLINDRICAL_SURFACE('',#${placement},`);
      length(w, surface.radius);
      break;
    case 'cone':
      out.text(`CONICAL_SURFACE('',#${placement},`);
      length(w, surface.radius);
      out.char(44);
      out.fixed(Math.round(surface.semiAngle * 10 ** ANGLE_DECIMALS), ANGLE_DECIMALS);
      break;
    case 'sphere':
      out.text(`SPHERICAL_SURFACE('',#${placement},`);
      length(w, surface.radius);
      break;
  }
  out.text(');\n');
  return id;
}

function length(w: EntityWriter, mm: number): void {
  w.out.fixed(Math.round(mm * GRID_PER_MM), COORD_DECIMALS);
}

function writeDirection(w: EntityWriter, v: readonly number[]): number {
  const rounded = new Float64Array(3);
  roundDirection(v[0]!, v[1]!, v[2]!, DIRECTION_DECIMALS, rounded, 0);
  const id = w.open();
  w.out.text("DIRECTION('',(");
  for (let c = 0; c < 3; c++) {
    if (c > 0) w.out.char(44);
    w.out.fixed(rounded[c]!, DIRECTION_DECIMALS);
  }
  w.out.text('));\n');
  return id;
}
