// Type declarations for Consent Prompt's ES module (see README, "Embedding").
export interface ConsentHandle {
  commit(): Promise<CommitSummary>;
  update(config: ConsentConfig): void;
  state(): ConsentState;
  destroy(): void;
}
export interface CommitSummary { records: ConsentRecord[]; delivered: string[]; pending: string[]; final: boolean; }
export interface ConsentState {
  locale: string;
  complete: boolean;
  phase: "asking" | "saving" | "saved" | "kept" | "failed";
  questions: { key: string; partnerIds: string[]; reason: "no-answer" | "deferred" | "notice-changed" | "expired"; answer: "yes" | "no" | null; channels: Channel[] }[];
  skipped: { partnerId: string; reason: "unknown-partner" | "already-answered" | "answered-earlier-notice" }[];
}
export type Channel = "email" | "post" | "sms" | "phone";
export type ConsentConfig = Record<string, unknown>;
export type ConsentRecord = Record<string, unknown>;
export function load(): Promise<unknown>;
export function mount(target: Element | string, config: ConsentConfig | string, options?: { embed?: "module" | "script" | "iframe" | "demo" }): Promise<ConsentHandle>;
export const version: string;
