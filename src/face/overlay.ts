/**
 * Pictures of what predict saw: each face's box, its 49 landmarks, the model's AU-centre ROIs (where the
 * model crops them in the aligned input, mapped back to the picture) and a bar per AU (probability;
 * filled when present). Drawn as SVG over the picture with sharp.
 */
import sharp from 'sharp';
import type { Affine } from '../data/align.js';
import { auCentres, roisOf, type AuSet } from './au.js';
import type { RgbImage } from './image.js';
import { auColumn } from './openface.js';
import type { FacePrediction } from './predict.js';

/** What the ROI geometry depends on: the ROI side on the stem map and the AU set. */
export interface RoiGeometry { roiSize: number; auSet: AuSet }

function invert(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3];
  const a = m[4] / det; const b = -m[1] / det; const c = -m[3] / det; const d = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), c, d, -(c * m[2] + d * m[5])];
}

const apply = (m: Affine, x: number, y: number): [number, number] => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];

/**
 * Each ROI of one face as a quadrilateral in picture pixels: the square the model crops (roiSize cells
 * of the stride-4 stem map, i.e. 4·roiSize input pixels) around the AU centre it computes on the
 * face's landmarks in its input. The input is a crop of the aligned face, a pure translation that the
 * round trip cancels, so the aligned frame serves.
 */
export function roiQuads(face: Pick<FacePrediction, 'landmarks49' | 'transform'>, { roiSize, auSet }: RoiGeometry): [number, number][][] {
  const toInput = face.transform;
  const back = invert(toInput);
  const points = new Float32Array(face.landmarks49.length);
  for (let i = 0; i < points.length / 2; i++) [points[2 * i], points[2 * i + 1]] = apply(toInput, face.landmarks49[2 * i]!, face.landmarks49[2 * i + 1]!);
  const centres = auCentres(points, auSet);
  const half = (4 * roiSize) / 2;
  return roisOf(auSet).map((_, i) => {
    const cx = centres[2 * i]!;
    const cy = centres[2 * i + 1]!;
    return [[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half], [cx - half, cy + half]].map(([x, y]) => apply(back, x!, y!));
  });
}

/** The overlay as an SVG the size of the picture. */
export function overlaySvg(width: number, height: number, faces: readonly FacePrediction[], geometry: RoiGeometry, threshold = 0.5): string {
  const parts: string[] = [];
  const n = (v: number) => v.toFixed(1);
  for (const face of faces) {
    const { x, y, width: w, height: h } = face.box;
    const unit = Math.max(2, w / 60);
    parts.push(`<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" fill="none" stroke="#00ff00" stroke-width="${n(unit / 1.5)}"/>`);
    for (const quad of roiQuads(face, geometry)) {
      parts.push(`<polygon points="${quad.map(([a, b]) => `${n(a)},${n(b)}`).join(' ')}" fill="none" stroke="#ffcc00" stroke-width="${n(unit / 3)}"/>`);
    }
    for (let i = 0; i < face.landmarks49.length / 2; i++) {
      parts.push(`<circle cx="${n(face.landmarks49[2 * i]!)}" cy="${n(face.landmarks49[2 * i + 1]!)}" r="${n(unit / 2)}" fill="#ff00ff"/>`);
    }
    // one bar per AU below the box: its length is the probability, filled when present
    const bar = Math.max(6, h / 16);
    const full = Math.max(40, w);
    face.aus.forEach((au, i) => {
      const p = face.probabilities[i]!;
      const top = y + h + unit + i * (bar + 2);
      parts.push(`<rect x="${n(x)}" y="${n(top)}" width="${n(full)}" height="${n(bar)}" fill="#000000" fill-opacity="0.5"/>`,
        `<rect x="${n(x)}" y="${n(top)}" width="${n(p * full)}" height="${n(bar)}" fill="${p >= threshold ? '#00ff00' : '#808080'}"/>`,
        `<text x="${n(x + 2)}" y="${n(top + bar - 1)}" font-size="${n(bar)}" font-family="sans-serif" fill="#ffffff">${auColumn(au)} ${p.toFixed(2)}</text>`);
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** The picture with its overlay, as RGB. */
export async function renderOverlay(image: RgbImage, faces: readonly FacePrediction[], geometry: RoiGeometry, threshold = 0.5): Promise<RgbImage> {
  const svg = Buffer.from(overlaySvg(image.width, image.height, faces, geometry, threshold));
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: svg, top: 0, left: 0 }]).removeAlpha().raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: image.width, height: image.height };
}

/** Writes the picture with its overlay (JPEG or PNG by the file's extension); returns the overlaid RGB. */
export async function writeOverlay(image: RgbImage, faces: readonly FacePrediction[], geometry: RoiGeometry, file: string, threshold = 0.5): Promise<RgbImage> {
  const drawn = await renderOverlay(image, faces, geometry, threshold);
  await sharp(drawn.data, { raw: { width: drawn.width, height: drawn.height, channels: 3 } }).toFile(file);
  return drawn;
}
