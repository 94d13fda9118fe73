/**
 * Queue URLs, apart from BullMQ so that the commands check one before loading the queue's code:
 * redis://[user:password@]host[:port][/db], or rediss:// for TLS.
 */
import type { ConnectionOptions } from 'bullmq';

export class QueueUrlError extends Error {
  override name = 'QueueUrlError';
}

/**
 * The connection options for a queue URL: redis://[user:password@]host[:port][/db], or rediss://
 * for TLS. Commands wait for a lost connection to come back (maxRetriesPerRequest null) rather
 * than fail: a Redis restart pauses the workers and the coordinator, it does not stop them.
 */
export function connectionOptions(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(`--queue ${url}: not a URL (expected redis://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`--queue ${url}: expected redis://HOST:PORT or rediss://HOST:PORT, got ${u.protocol}`);
  if (!u.hostname) throw new QueueUrlError(`--queue ${url}: no host`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueUrlError(`--queue ${url}: the database after the "/" must be a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    // Reconnect quickly at first, then every 2 s, for as long as it takes.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
}

/** A URL with its password hidden, for logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
