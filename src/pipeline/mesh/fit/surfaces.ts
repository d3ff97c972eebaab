import { cross, dot, normalize, perpendicular, solve, symmetricEigen, type Vec3 } from './eigen.js';

/**
 * The analytic surfaces a CAD part is mostly made of, as fitted to a mesh region. Each carries a
 * placement (location, axis, a reference direction perpendicular to it) the way STEP's
 * AXIS2_PLACEMENT_3D holds it.
 */
export type FittedSurface = Readonly<
  | { kind: 'plane'; location: Vec3; axis: Vec3; reference: Vec3 }
  | { kind: 'cylinder'; location: Vec3; axis: Vec3; reference: Vec3; radius: number }
  /** Radius at `location`, growing along +axis: r(h) = radius + h·tan(semiAngle), semiAngle in (0, π/2). */
  | { kind: 'cone'; location: Vec3; axis: Vec3; reference: Vec3; radius: number; semiAngle: number }
  | { kind: 'sphere'; location: Vec3; axis: Vec3; reference: Vec3; radius: number }
>;

export type SurfaceKind = FittedSurface['kind'];

/** The points and normals of one mesh region, as the fits read them. */
export interface RegionSamples {
  /** Distinct vertex positions, xyz. */
  readonly points: Float64Array;
  /** Per triangle: unit normal, centroid and area. */
  readonly normals: Float64Array;
  readonly centroids: Float64Array;
  readonly areas: Float64Array;
  /** Per triangle, its three edge midpoints (9 numbers), when the fit should follow the faces, not the vertices. */
  readonly midpoints?: Float64Array;
}

/** Signed distance from p to the surface (positive on the side its outward normal points to). */
export function signedDistance(s: FittedSurface, p: Vec3): number {
  const d: Vec3 = [p[0] - s.location[0], p[1] - s.location[1], p[2] - s.location[2]];
  switch (s.kind) {
    case 'plane':
      return dot(d, s.axis);
    case 'sphere':
      return Math.hypot(d[0], d[1], d[2]) - s.radius;
    case 'cylinder': {
      const h = dot(d, s.axis);
      return Math.hypot(d[0] - h * s.axis[0], d[1] - h * s.axis[1], d[2] - h * s.axis[2]) - s.radius;
    }
    case 'cone': {
      const h = dot(d, s.axis);
      const rho = Math.hypot(d[0] - h * s.axis[0], d[1] - h * s.axis[1], d[2] - h * s.axis[2]);
      // Distance to the generator line through the nearest side: the offset from the radius there, times cos.
      return (rho - (s.radius + h * Math.tan(s.semiAngle))) * Math.cos(s.semiAngle);
    }
  }
}

/** The surface's own unit normal at (or nearest to) p: away from the axis or centre, or the plane's axis. */
export function surfaceNormal(s: FittedSurface, p: Vec3): Vec3 {
  const d: Vec3 = [p[0] - s.location[0], p[1] - s.location[1], p[2] - s.location[2]];
  if (s.kind === 'plane') return s.axis;
  if (s.kind === 'sphere') return normalize(d);
  const h = dot(d, s.axis);
  const radial = normalize([d[0] - h * s.axis[0], d[1] - h * s.axis[1], d[2] - h * s.axis[2]]);
  if (s.kind === 'cylinder') return radial;
  // The cone's normal leans back against the axis by the semi-angle.
  const c = Math.cos(s.semiAngle), sn = Math.sin(s.semiAngle);
  return normalize([c * radial[0] - sn * s.axis[0], c * radial[1] - sn * s.axis[1], c * radial[2] - sn * s.axis[2]]);
}

function pointAt(points: Float64Array, i: number): Vec3 {
  return [points[i * 3]!, points[i * 3 + 1]!, points[i * 3 + 2]!];
}

function mean(points: Float64Array): Vec3 {
  const n = points.length / 3;
  let x = 0, y = 0, z = 0;
  for (let i = 0; i < n; i++) {
    x += points[i * 3]!;
    y += points[i * 3 + 1]!;
    z += points[i * 3 + 2]!;
  }
  return [x / n, y / n, z / n];
}

/** Covariance (upper triangle) of vectors about `centre`, with optional weights. */
function scatter(values: Float64Array, centre: Vec3, weights?: Float64Array): number[] {
  const m = [0, 0, 0, 0, 0, 0];
  const n = values.length / 3;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    const x = values[i * 3]! - centre[0], y = values[i * 3 + 1]! - centre[1], z = values[i * 3 + 2]! - centre[2];
    m[0] += w * x * x;
    m[1] += w * x * y;
    m[2] += w * x * z;
    m[3] += w * y * y;
    m[4] += w * y * z;
    m[5] += w * z * z;
  }
  return m;
}

/** Least-squares plane through the points (PCA): the axis of least spread is its normal. */
export function fitPlane(samples: RegionSamples): FittedSurface {
  const c = mean(samples.points);
  const { vectors } = symmetricEigen(scatter(samples.points, c));
  return { kind: 'plane', location: c, axis: vectors[0], reference: vectors[2] };
}

/**
 * Cylinder: the normals of a cylinder are all perpendicular to its axis, so the axis is the direction
 * the normals spread least along (smallest eigenvector of Σ a·n nᵀ); the section perpendicular to it
 * is a circle, fitted algebraically (Kåsa) to the projected points.
 */
export function fitCylinder(samples: RegionSamples): FittedSurface | undefined {
  const { vectors } = symmetricEigen(scatter(samples.normals, [0, 0, 0], samples.areas));
  const axis = vectors[0];
  const u = perpendicular(axis);
  const v = cross(axis, u);
  const circle = fitCircle(samples.points, u, v);
  if (!circle) return undefined;
  const [cu, cv, radius] = circle;
  const c = mean(samples.points);
  const h = dot(c, axis);
  const location: Vec3 = [cu * u[0] + cv * v[0] + h * axis[0], cu * u[1] + cv * v[1] + h * axis[1], cu * u[2] + cv * v[2] + h * axis[2]];
  return { kind: 'cylinder', location, axis, reference: u, radius };
}

/** Circle through points projected on the (u, v) plane: centre (cu, cv) and radius. */
function fitCircle(points: Float64Array, u: Vec3, v: Vec3): [number, number, number] | undefined {
  // x² + y² + D x + E y + F = 0, least squares; coordinates centred for conditioning.
  const n = points.length / 3;
  let mu = 0, mv = 0;
  for (let i = 0; i < n; i++) {
    const p = pointAt(points, i);
    mu += dot(p, u);
    mv += dot(p, v);
  }
  mu /= n;
  mv /= n;
  const A = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const b = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const p = pointAt(points, i);
    const x = dot(p, u) - mu, y = dot(p, v) - mv;
    const row = [x, y, 1];
    const rhs = -(x * x + y * y);
    for (let r = 0; r < 3; r++) {
      for (let k = 0; k < 3; k++) A[r]![k]! += row[r]! * row[k]!;
      b[r]! += row[r]! * rhs;
    }
  }
  const s = solve(A, b);
  if (!s) return undefined;
  const cx = -s[0]! / 2, cy = -s[1]! / 2;
  const r2 = cx * cx + cy * cy - s[2]!;
  if (!(r2 > 0)) return undefined;
  return [cx + mu, cy + mv, Math.sqrt(r2)];
}

/**
 * Cone: its normals make one angle with the axis, so their tips lie on a small circle whose plane's
 * normal is the axis; every tangent plane passes through the apex, which is found by least squares
 * over the triangles' planes. The semi-angle is then the slope of radius against height.
 */
export function fitCone(samples: RegionSamples): FittedSurface | undefined {
  const { normals, centroids, areas } = samples;
  const m = areas.length;
  let total = 0;
  const nm: Vec3 = [0, 0, 0];
  for (let i = 0; i < m; i++) {
    total += areas[i]!;
    for (let k = 0; k < 3; k++) nm[k]! += areas[i]! * normals[i * 3 + k]!;
  }
  const centre: Vec3 = [nm[0] / total, nm[1] / total, nm[2] / total];
  let axis = symmetricEigen(scatter(normals, centre, areas)).vectors[0];
  // Apex: minimises Σ a (n·(x − c))².
  const A = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const b = [0, 0, 0];
  for (let i = 0; i < m; i++) {
    const n = pointAt(normals, i);
    const d = dot(n, pointAt(centroids, i));
    for (let r = 0; r < 3; r++) {
      for (let k = 0; k < 3; k++) A[r]![k]! += areas[i]! * n[r]! * n[k]!;
      b[r]! += areas[i]! * n[r]! * d;
    }
  }
  const apexSolution = solve(A, b);
  if (!apexSolution) return undefined;
  const apex: Vec3 = [apexSolution[0]!, apexSolution[1]!, apexSolution[2]!];
  // Point the axis from the apex into the points, so heights are positive.
  const c = mean(samples.points);
  if (dot([c[0] - apex[0], c[1] - apex[1], c[2] - apex[2]], axis) < 0) axis = [-axis[0], -axis[1], -axis[2]];
  // rho = k·h through the apex, least squares.
  let hh = 0, hr = 0, hSum = 0;
  const n = samples.points.length / 3;
  for (let i = 0; i < n; i++) {
    const p = pointAt(samples.points, i);
    const d: Vec3 = [p[0] - apex[0], p[1] - apex[1], p[2] - apex[2]];
    const h = dot(d, axis);
    const rho = Math.hypot(d[0] - h * axis[0], d[1] - h * axis[1], d[2] - h * axis[2]);
    hh += h * h;
    hr += h * rho;
    hSum += h;
  }
  if (!(hh > 0)) return undefined;
  const slope = hr / hh;
  const semiAngle = Math.atan(slope);
  if (!(semiAngle > 1e-3 && semiAngle < Math.PI / 2 - 1e-3)) return undefined;
  // Placed at the points' mean height, where the radius is comfortably positive.
  const h0 = hSum / n;
  const location: Vec3 = [apex[0] + h0 * axis[0], apex[1] + h0 * axis[1], apex[2] + h0 * axis[2]];
  return { kind: 'cone', location, axis, reference: perpendicular(axis), radius: h0 * slope, semiAngle };
}

/**
 * Sphere: algebraic least squares, x² + y² + z² + D x + E y + F z + G = 0 (centred for conditioning),
 * over the triangles' edge midpoints weighted by area when the samples carry them. A mesh's facets
 * cut inside a sphere through its vertices, and a simplified mesh's vertices stand outside it to keep
 * the volume; the edge midpoints integrate a quadratic over a triangle exactly, so the sphere fitted
 * to them is the one the faces lie on on average, enclosing the mesh's own volume.
 */
export function fitSphere(samples: RegionSamples): FittedSurface | undefined {
  const points = samples.midpoints ?? samples.points;
  const weightOf = (i: number): number => (samples.midpoints ? samples.areas[(i / 3) | 0]! : 1);
  const n = points.length / 3;
  const c = mean(points);
  const A = Array.from({ length: 4 }, () => [0, 0, 0, 0]);
  const b = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const w = weightOf(i);
    const x = points[i * 3]! - c[0], y = points[i * 3 + 1]! - c[1], z = points[i * 3 + 2]! - c[2];
    const row = [x, y, z, 1];
    const rhs = -(x * x + y * y + z * z);
    for (let r = 0; r < 4; r++) {
      for (let k = 0; k < 4; k++) A[r]![k]! += w * row[r]! * row[k]!;
      b[r]! += w * row[r]! * rhs;
    }
  }
  const s = solve(A, b);
  if (!s) return undefined;
  const centre: Vec3 = [-s[0]! / 2, -s[1]! / 2, -s[2]! / 2];
  const r2 = centre[0] ** 2 + centre[1] ** 2 + centre[2] ** 2 - s[3]!;
  if (!(r2 > 0)) return undefined;
  return { kind: 'sphere', location: [centre[0] + c[0], centre[1] + c[1], centre[2] + c[2]], axis: [0, 0, 1], reference: [1, 0, 0], radius: Math.sqrt(r2) };
}
