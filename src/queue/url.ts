/**
 * Queue URLs, apart from BullMQ so that the commands check one before loading the queue's code:
 * redis://[user:password@]host[:port][/db], or rediss:// for TLS.
 */
import type { ConnectionOptions } from 'bullmq';

export class QueueUrlError extends Error {
  override name = 'QueueUrlError';
}

/** The queue did not answer (a read-only command gives up rather than wait for ever). */
export class QueueUnreachableError extends Error {
  override name = 'QueueUnreachableError';
}

/**
 * The connection options for a queue URL: redis://[user:password@]host[:port][/db], or rediss://
 * for TLS. Commands wait for a lost connection to come back (maxRetriesPerRequest null) rather
 * than fail: a Redis restart pauses the workers and the coordinator, it does not stop them.
 */
export function connectionOptions(url: string, o: { failFast?: boolean } = {}): ConnectionOptions {
  let u: URL;
  const shown = safeUrl(url);
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(`--queue ${shown}: not a URL (expected redis://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`--queue ${shown}: expected redis://HOST:PORT or rediss://HOST:PORT, got ${u.protocol}`);
  if (!u.hostname) throw new QueueUrlError(`--queue ${shown}: no host`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueUrlError(`--queue ${shown}: the database after the "/" must be a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(o.failFast
      ? // A look at the queue (--status): a few tries, then an error.
        { maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: (times: number) => (times > 3 ? null : 200 * times) }
      : // Reconnect quickly at first, then every 2 s, for as long as it takes.
        { maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(100 * times, 2000) }),
  };
}

/** Text with the password of every redis:// URL in it hidden (a command line, a message). */
export function redactUrls(text: string): string {
  // Up to the last @ before the host: a password may hold an @ of its own (rediss://u:p@ss@host).
  return text.replace(/(rediss?:\/\/[^:@/\s]*:)[^/\s]*@/gi, '$1***@');
}

/** A URL with its password hidden, for logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return redactUrls(url);
  }
}
