// The app's errors as a caller sees them, and the checks at its edge that produce them: a channel's
// payload against its zod schema (src/shared/api.ts), a conversation's settings against theirs.
// Whatever a handler throws leaves AppService.call as an ApiError (`toApiError`).
import { requests, settingsSchema, type Channel, type ChatSettings, type RequestOf } from '../shared/api';
import { TraceError } from '../shared/trace';
import { BrowseError } from '../services/modelBrowser';
import { SettingsError } from '../services/settings';
import { StoreError } from '../sessions/SessionStore';

export type ApiErrorCode = 'unknown_channel' | 'bad_request' | 'not_found' | 'busy' | 'model_error' | 'unavailable' | 'internal';

const STATUS: Record<ApiErrorCode, number> = {
  unknown_channel: 404,
  bad_request: 400,
  not_found: 404,
  busy: 409,
  model_error: 500,
  unavailable: 503,
  internal: 500,
};

/** An error a caller may show as is: `code` and `status` say what kind. Never longer than 1000 characters (no echoed input). */
export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, readonly code: ApiErrorCode) {
    super(message.length > 1000 ? `${message.slice(0, 1000)}… (${message.length - 1000} more characters)` : message);
    this.status = STATUS[code];
  }
}

interface Issue {
  path: PropertyKey[];
  message: string;
}

export function formatIssues(issues: readonly Issue[]): string {
  const shown = issues.slice(0, 3).map((i) => `${i.path.map(String).join('.') || '(payload)'}: ${i.message}`);
  if (issues.length > 3) shown.push(`and ${issues.length - 3} more`);
  return shown.join('; ');
}

/** Validates a payload with its channel's schema; a bad one gets ApiError('bad_request') naming the fields. */
export function parsePayload<C extends Channel>(channel: C, payload: unknown): RequestOf<C> {
  const r = requests[channel].safeParse(payload === undefined || payload === null ? {} : payload);
  if (!r.success) throw new ApiError(`${channel}: invalid request: ${formatIssues(r.error.issues)}`, 'bad_request');
  return r.data as RequestOf<C>;
}

/** A conversation's settings after a merge (defaults or stored ones, then the request's). */
export function checkSettings(s: unknown): ChatSettings {
  const r = settingsSchema.safeParse(s);
  if (!r.success) throw new ApiError(`settings: ${formatIssues(r.error.issues)}`, 'bad_request');
  return r.data;
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof StoreError) return new ApiError(e.message, e.code === 'not_found' ? 'not_found' : 'bad_request');
  if (e instanceof TraceError || e instanceof SettingsError) return new ApiError(e.message, 'bad_request');
  if (e instanceof BrowseError) return new ApiError(e.message, e.code);
  return new ApiError(e instanceof Error ? e.message : String(e), 'internal');
}
