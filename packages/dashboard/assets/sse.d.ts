export interface SseMessage {
  event: string;
  data: string;
}
export function createSseParser(onMessage: (message: SseMessage) => void): (chunk: string) => void;
export function reconnectDelayMs(attempt: number): number;
