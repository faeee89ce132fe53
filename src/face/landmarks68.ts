/**
 * From the 68-point iBUG 300-W scheme (what common landmark detectors predict, face-api's among them) to
 * the model's 49 points (docs/model.md, Landmarks and AU centres). The 66-point IntraFace/DISFA scheme is
 * iBUG's without the two inner-mouth corners (iBUG 60 and 64); our 49 drop its 17 jaw points too.
 * Both schemes number the points the same way round ("left" = the image's left), so no reordering is needed.
 */
import { NUM_LANDMARKS } from './landmarks.js';
import { rangeError } from '../util/validate.js';

export const NUM_LANDMARKS_68 = 68;

/** IBUG68_FOR_49[i] is the 0-based iBUG point that becomes our point i. */
export const IBUG68_FOR_49: readonly number[] = [
  // brows 17–26 → 0–9, nose bridge 27–30 → 10–13, nostrils 31–35 → 14–18, eyes 36–47 → 19–30,
  // outer lip 48–59 → 31–42
  ...Array.from({ length: 43 }, (_, i) => 17 + i),
  // inner upper lip without the left corner 60: 61–63 → 43–45; inner lower lip without the right corner 64: 65–67 → 46–48
  61, 62, 63, 65, 66, 67,
];

/** Maps 68 iBUG landmarks, flat [x0, y0, …, x67, y67], to our 49 in the same coordinates. */
export function landmarks68To49(points: ArrayLike<number>): Float32Array {
  if (points.length !== NUM_LANDMARKS_68 * 2) {
    throw rangeError('points (landmarks68To49)', `${NUM_LANDMARKS_68 * 2} numbers (68 points as x, y)`, points.length);
  }
  const out = new Float32Array(NUM_LANDMARKS * 2);
  IBUG68_FOR_49.forEach((j, i) => {
    out[2 * i] = points[2 * j]!;
    out[2 * i + 1] = points[2 * j + 1]!;
  });
  return out;
}
