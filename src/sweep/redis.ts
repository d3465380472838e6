/**
 * Where a sweep's queue lives: the `--queue redis://HOST:PORT` URL, checked, and the names every
 * participant (sweep, workers) derives from it.
 */
import type { Redis } from 'ioredis';
import { UsageError } from '../cli/errors.js';

export interface QueueAddress {
  /** ioredis / BullMQ connection options. */
  connection: {
    host: string;
    port: number;
    username?: string;
    password?: string;
    db?: number;
    tls?: object;
    maxRetriesPerRequest: null;
  };
  /** The BullMQ queue's name (`--queue-name`, default `lockstep`). */
  name: string;
  /** Prefix of every Redis key lockstep writes: BullMQ's keys and the checkpoints. */
  prefix: string;
  /** The URL as given, with any password hidden, for messages. */
  display: string;
}

export const DEFAULT_QUEUE_NAME = 'lockstep';
const PREFIX = 'lockstep';

/** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
export function parseQueueUrl(url: string, name = DEFAULT_QUEUE_NAME): QueueAddress {
  const fail = (why: string): never => {
    throw new UsageError(
      `--queue ${JSON.stringify(maskPassword(url))}: ${why}; expected redis://HOST:PORT, e.g. redis://127.0.0.1:6379`,
    );
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail('is not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    fail(`the scheme must be redis: or rediss:, not ${u.protocol}`);
  if (u.hostname === '') fail('names no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) fail(`the path must be a database number such as /0, not /${path}`);
  if (!/^[A-Za-z0-9_-]+$/.test(name))
    throw new UsageError(`--queue-name ${JSON.stringify(name)}: use letters, digits, '-' and '_'`);
  const connection: QueueAddress['connection'] = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(path ? { db: Number(path) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's workers block on Redis; it requires ioredis not to give up on a command.
    maxRetriesPerRequest: null,
  };
  const display = `${u.protocol}//${u.hostname}:${port}${path ? `/${path}` : ''}`;
  return { connection, name, prefix: PREFIX, display };
}

/**
 * `url` with its password replaced by `***`, for any message: `redis://user:***@host`. Works on text that is
 * not a valid URL too (a password holding '@' or '/' unencoded), by hiding everything between the scheme
 * (or the start) and the last '@', except a username before the first ':'.
 */
export function maskPassword(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = url.indexOf('//');
  const start = scheme >= 0 && scheme < at ? scheme + 2 : 0;
  const userinfo = url.slice(start, at);
  const colon = userinfo.indexOf(':');
  return `${url.slice(0, start)}${colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`}${url.slice(at)}`;
}

/** The Redis key of a job's last checkpoint. */
export function checkpointKey(address: QueueAddress, jobId: string): string {
  return `${address.prefix}:${address.name}:checkpoint:${jobId}`;
}

/** A Redis client for lockstep's own keys (checkpoints). */
export async function redisClient(address: QueueAddress): Promise<Redis> {
  const { Redis } = await import('ioredis');
  return new Redis(address.connection);
}

/** Throws a clear error when Redis does not answer (BullMQ alone would retry forever). */
export async function checkReachable(address: QueueAddress): Promise<void> {
  const { Redis } = await import('ioredis');
  const probe = new Redis({
    ...address.connection,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5000,
  });
  // The socket's own error (ECONNREFUSED...) says more than the rejected connect ("Connection is closed").
  let cause: Error | undefined;
  probe.on('error', (err: Error) => (cause ??= err));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new Error(
      `cannot reach Redis at ${address.display}: ${(cause ?? (err as Error)).message} (is redis-server running there, and reachable from this machine?)`,
      { cause: err },
    );
  } finally {
    probe.disconnect();
  }
}
