/**
 * Rows in the layout of OpenFace 2.2's FeatureExtraction CSV (lib/local/Utilities/src/RecorderCSV.cpp):
 * frame, face_id, timestamp, confidence, success, then the 2-D landmarks as x_0 … x_{n−1}, y_0 … y_{n−1}
 * in image pixels, then the AUs. We add `file` first (one stream covers many inputs) and write AU
 * occurrence probabilities AUxx_p (OpenFace has none) before the presence columns AUxx_c; there is no
 * intensity (AUxx_r). Separators are bare commas, as OpenFace 2.2 writes them (2.0 and 2.1 wrote ", ").
 */
import { NUM_LANDMARKS } from './landmarks.js';

export const auColumn = (au: number): string => `AU${String(au).padStart(2, '0')}`;

/** One face in one frame. `landmarks` are the 49 points in image pixels, or null (aligned input). */
export interface FaceRow {
  file: string;
  /** 1-based, as OpenFace; 1 for a still image. */
  frame: number;
  /** 0-based within the frame. */
  faceId: number;
  /** Seconds from the start; 0 for a still image. */
  timestamp: number;
  /** The face detector's score (1 for aligned input, which is not detected). */
  confidence: number;
  /** false for a video frame where no face was found: its landmark and AU fields are empty. */
  success: boolean;
  landmarks: ArrayLike<number> | null;
  box: { x: number; y: number; width: number; height: number } | null;
  probabilities: ArrayLike<number> | null;
}

export function csvHeader(aus: readonly number[]): string[] {
  return [
    'file', 'frame', 'face_id', 'timestamp', 'confidence', 'success',
    ...Array.from({ length: NUM_LANDMARKS }, (_, i) => `x_${i}`), ...Array.from({ length: NUM_LANDMARKS }, (_, i) => `y_${i}`),
    ...aus.map((a) => `${auColumn(a)}_p`), ...aus.map((a) => `${auColumn(a)}_c`),
  ];
}

/** A CSV field: quoted when it holds a comma, quote or line break. */
const field = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/** One CSV line (with its newline); presence = probability ≥ threshold. */
export function csvRow(row: FaceRow, aus: readonly number[], threshold: number): string {
  const lm = row.landmarks;
  const xs = Array.from({ length: NUM_LANDMARKS }, (_, i) => (lm ? lm[2 * i]!.toFixed(1) : ''));
  const ys = Array.from({ length: NUM_LANDMARKS }, (_, i) => (lm ? lm[2 * i + 1]!.toFixed(1) : ''));
  const p = row.probabilities ? Array.from(row.probabilities) : null;
  const cells = p ? [...p.map((v) => v.toFixed(4)), ...p.map((v) => (v >= threshold ? 1 : 0))] : new Array<string>(2 * aus.length).fill('');
  return `${[field(row.file), row.frame, row.faceId, row.timestamp.toFixed(3), row.confidence.toFixed(2), row.success ? 1 : 0,
    ...xs, ...ys, ...cells].join(',')}\n`;
}

/** One JSON line: the CSV's fields, the box, landmarks as [[x, y], …] and the AUs keyed by name. */
export function jsonRow(row: FaceRow, aus: readonly number[], threshold: number): string {
  const lm = row.landmarks;
  const p = row.probabilities;
  return `${JSON.stringify({
    file: row.file, frame: row.frame, face_id: row.faceId, timestamp: row.timestamp, confidence: row.confidence, success: row.success ? 1 : 0,
    box: row.box, landmarks: lm ? Array.from({ length: NUM_LANDMARKS }, (_, i) => [lm[2 * i], lm[2 * i + 1]]) : null,
    probabilities: p ? Object.fromEntries(aus.map((a, i) => [auColumn(a), p[i]])) : null,
    presence: p ? Object.fromEntries(aus.map((a, i) => [auColumn(a), p[i]! >= threshold ? 1 : 0])) : null,
  })}\n`;
}
