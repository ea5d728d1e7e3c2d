/** The tone a state is shown in. */
export type Tone = 'ok' | 'warn' | 'bad' | 'active' | 'neutral';
export function formatDuration(ms: number): string;
export function formatPercent(ratio: number): string;
export function formatCount(n: number): string;
export function formatRate(rps: number): string;
export function formatRelative(epochMs: number, nowMs: number): string;
export function formatTimestamp(epochMs: number): string;
export function formatClock(epochMs: number): string;
export function shortId(id: string, length?: number): string;
export function sagaStatusTone(status: string): Tone;
export function healthTone(health: string): Tone;
export function breakerTone(state: string): Tone;
export function processTone(state: string | undefined): Tone;
