import * as THREE from 'three';

/** The preview camera's vertical field of view, in degrees. */
export const PREVIEW_FIELD_OF_VIEW = 35;

/** Where the preview's camera starts, and the clip planes that suit the model's size. */
export interface HomeView {
  readonly position: THREE.Vector3;
  readonly target: THREE.Vector3;
  readonly near: number;
  readonly far: number;
}

/**
 * The opening view of a model in glTF's frame, where the side seen in the source image faces +Z: the
 * camera stands in front of it, a little to the right and above, and fits the bounding sphere in the
 * narrower of the two fields of view with a margin. Kept apart from the page so the orientation test
 * can look through exactly this camera.
 */
export function homeView(box: THREE.Box3, radius: number, fovDegrees: number, aspect: number): HomeView {
  const centre = box.getCenter(new THREE.Vector3());
  const halfVertical = THREE.MathUtils.degToRad(fovDegrees / 2);
  const halfHorizontal = Math.atan(Math.tan(halfVertical) * aspect);
  const distance = (radius / Math.sin(Math.min(halfVertical, halfHorizontal))) * 1.3;
  return {
    position: centre.clone().add(HOME_DIRECTION.clone().multiplyScalar(distance)),
    target: centre,
    near: distance / 100,
    far: distance * 100,
  };
}

/** In front (+Z), a little right (+X) and above (+Y). */
const HOME_DIRECTION = new THREE.Vector3(0.35, 0.3, 1).normalize();
