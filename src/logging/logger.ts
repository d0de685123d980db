import { openSync } from 'node:fs';
import pino from 'pino';

export type Logger = pino.Logger;

export interface LogOptions {
  /** etcd's --log-level: debug, info, warn, error. */
  level: string;
  /** etcd's --log-outputs: default or stderr, stdout, or file paths (appended to). */
  outputs?: string[];
}

/**
 * Structured JSON lines, one per event, in etcd's zap shape ({"level":"info","ts":"…","msg":"…",
 * …fields}). Nothing secret goes in: callers log names and sizes, never passwords, tokens or values.
 */
export function createLogger(o: LogOptions): Logger {
  const streams = (o.outputs?.length ? o.outputs : ['default']).map((out) => {
    if (out === 'default' || out === 'stderr') return { stream: pino.destination({ fd: 2, sync: true }) };
    if (out === 'stdout') return { stream: pino.destination({ fd: 1, sync: true }) };
    return { stream: pino.destination({ fd: openSync(out, 'a'), sync: false }) };
  });
  return pino(
    {
      level: o.level,
      base: undefined,
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    streams.length === 1 ? streams[0].stream : pino.multistream(streams.map((s) => ({ ...s, level: o.level as pino.Level }))),
  );
}

/** Errors as fields a log line can carry (pino's own serializer keeps the stack). */
export const errorField = (err: unknown) => ({ err: err instanceof Error ? err : new Error(String(err)) });

/** Logs nowhere: the default for parts run in tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
