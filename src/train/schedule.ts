/**
 * Learning-rate schedule (paper §4.1.3): linear warm-up over the first epoch(s), then cosine decay to 0 at
 * the last step, evaluated per iteration.
 */
export interface Schedule {
  peak: number;
  totalSteps: number;
  warmupSteps: number;
}

export function learningRate(step: number, { peak, totalSteps, warmupSteps }: Schedule): number {
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const t = Math.min(1, (step - warmupSteps) / span);
  return 0.5 * peak * (1 + Math.cos(Math.PI * t));
}
