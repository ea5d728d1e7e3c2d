export interface TransitionLike {
  seq: number;
  kind: string;
  at: number;
  step?: string;
  attempt?: number;
  error?: { code: string; message: string };
  reason?: string;
}
export type Phase = 'running' | 'done' | 'failed';
export interface StepSummary {
  step: string;
  forward: Phase;
  attempts: number;
  compensation: Phase | null;
  compensationAttempts: number;
  startedAt: number;
  endedAt: number | null;
  error: { code: string; message: string } | null;
}
export function summariseSteps(history: readonly TransitionLike[]): StepSummary[];
export function isCompensationKind(kind: string): boolean;
export function transitionLabel(kind: string): string;
