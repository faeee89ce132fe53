/**
 * Action Units: the datasets' AU sets, the AU-centre pairs of the paper's Table 2 (docs/model.md, Landmarks
 * and AU centres), the ROI layout derived from them, and the FACS emotion prototypes of the
 * emotion-prototype graph.
 */

/** The AU sets, named after the dataset that labels them (and that the CLI's --dataset and --au-set name). */
export const AU_SET_NAMES = ['bp4d', 'disfa'] as const;
export type AuSet = (typeof AU_SET_NAMES)[number];

export function isAuSet(name: string): name is AuSet {
  return (AU_SET_NAMES as readonly string[]).includes(name);
}

export const AU_SETS: Readonly<Record<AuSet, readonly number[]>> = {
  bp4d: [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24],
  disfa: [1, 2, 4, 6, 9, 12, 25, 26],
};

/** One of Table 2's centre pairs: two landmarks, a vertical offset in units of the inner-eye distance. */
export interface CentrePair {
  name: string;
  aus: readonly number[];
  landmarks: readonly [number, number];
  /** y offset = dy · r, r = |x22 − x25|; negative is up. */
  dy: number;
}

export const CENTRE_PAIRS: Readonly<Record<string, CentrePair>> = {
  P1: { name: 'P1', aus: [1], landmarks: [4, 5], dy: -1 / 2 },
  P2: { name: 'P2', aus: [2], landmarks: [1, 8], dy: -1 / 3 },
  P3: { name: 'P3', aus: [4], landmarks: [2, 7], dy: 1 / 3 },
  P4: { name: 'P4', aus: [6], landmarks: [24, 29], dy: 1 },
  P5: { name: 'P5', aus: [7], landmarks: [21, 26], dy: 0 },
  P6: { name: 'P6', aus: [10], landmarks: [43, 45], dy: 0 },
  P7: { name: 'P7', aus: [12, 14, 15], landmarks: [31, 37], dy: 0 },
  P8: { name: 'P8', aus: [17, 26], landmarks: [39, 41], dy: 1 / 2 },
  P9: { name: 'P9', aus: [23, 24, 25], landmarks: [34, 40], dy: 0 },
  P10: { name: 'P10', aus: [9], landmarks: [15, 17], dy: -1 / 2 },
};

/** The pairs each dataset crops, in node order (paper Table 2; docs/model.md, Landmarks and AU centres). */
export const ROI_PAIRS: Readonly<Record<AuSet, readonly string[]>> = {
  bp4d: ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9'],
  disfa: ['P1', 'P2', 'P3', 'P4', 'P10', 'P7', 'P9', 'P8'],
};

/** Inner eye corners whose horizontal distance is the scale r. */
export const INNER_EYE_CORNERS = [22, 25] as const;

/** One ROI (graph node): the pair's left (side 0) or right (side 1) centre. */
export interface Roi {
  pair: CentrePair;
  side: 0 | 1;
  landmark: number;
}

/** The ROIs of an AU set, two per pair, left then right: 18 for BP4D, 16 for DISFA. */
export function roisOf(set: AuSet): Roi[] {
  return ROI_PAIRS[set].flatMap((name) => {
    const pair = CENTRE_PAIRS[name]!;
    return [0, 1].map((side) => ({ pair, side: side as 0 | 1, landmark: pair.landmarks[side]! }));
  });
}

/**
 * AU centres in image pixels from landmarks [x0, y0, …] (one face): [cx0, cy0, …] per ROI. The tfjs
 * model computes the same table on tensors (src/model/au-centres.ts).
 */
export function auCentres(points: ArrayLike<number>, set: AuSet): Float32Array {
  const r = Math.abs(points[2 * INNER_EYE_CORNERS[0]]! - points[2 * INNER_EYE_CORNERS[1]]!);
  const rois = roisOf(set);
  const out = new Float32Array(rois.length * 2);
  rois.forEach((roi, i) => {
    out[2 * i] = points[2 * roi.landmark]!;
    out[2 * i + 1] = points[2 * roi.landmark + 1]! + roi.pair.dy * r;
  });
  return out;
}

/**
 * FACS emotion prototypes (EMFACS-style) as AU combinations: happiness, sadness, surprise, fear, anger,
 * disgust, contempt. AUs that appear together here are "related" in the emotion-prototype graph (our
 * FBG stand-in), and the synthetic dataset draws its co-occurring AUs from the same list.
 */
export const EMOTION_PROTOTYPES: Readonly<Record<string, readonly number[]>> = {
  happiness: [6, 12],
  sadness: [1, 4, 15, 17],
  surprise: [1, 2, 25, 26],
  fear: [1, 2, 4, 7, 25],
  anger: [4, 7, 23, 24],
  disgust: [9, 10, 17],
  contempt: [12, 14],
};
