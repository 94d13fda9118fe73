/**
 * Defences against a hostile web page in the user's own browser talking to the local server.
 *
 * - DNS rebinding: a page at evil.example can re-point its name at 127.0.0.1 and then read this
 *   server as "same origin". Its requests still carry `Host: evil.example`, so every request must
 *   name this server: an IP literal (rebinding needs a DNS name), `localhost` / `*.localhost`
 *   (browsers resolve those to loopback themselves), the name it was bound to, or a name the
 *   operator allowed.
 * - CSRF: any page can POST a form or a `text/plain` fetch to 127.0.0.1 without a CORS preflight.
 *   The API therefore takes only `application/json` (which a cross-site page cannot send without a
 *   preflight this server never grants) and refuses requests whose Origin is another origin or
 *   whose Sec-Fetch-Site says cross-site.
 * - Framing, sniffing, leaking: security headers on every response.
 */
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ServeError } from './errors.js';

/** The host part of a Host header (`[::1]:8080` → `::1`, `Example.org:80` → `example.org`). */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** Names that always reach this machine's loopback interface. */
const isLocalhostName = (name: string): boolean => name === 'localhost' || name.endsWith('.localhost');

/** True for a host to bind to that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host);
  if (isLocalhostName(name)) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || /^::ffff:127\./.test(name);
  return false;
}

/** Decides which Host headers name this server. */
export function hostChecker(boundHost: string, allowed: readonly string[] = []): (header: string | undefined) => boolean {
  const names = new Set([hostName(boundHost), ...allowed.map(hostName)]);
  return (header) => {
    if (!header) return false;
    const name = hostName(header);
    return isIP(name) !== 0 || isLocalhostName(name) || names.has(name);
  };
}

/**
 * onRequest guard: the Host check for every request, and the same-origin check for the API (the
 * requests that cost work or change state). Runs before the body is read.
 */
export function guardRequest(hostOk: (header: string | undefined) => boolean): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    const host = req.headers.host;
    if (!hostOk(host)) throw new ServeError(421, 'BAD_HOST', `this server does not answer for Host ${JSON.stringify(host ?? '')} (DNS rebinding guard; see --allow-host)`);
    // Decided by the route matched, not the raw URL: `/%61pi/attack` reaches /api/attack too.
    const api = req.routeOptions.url?.startsWith('/api/') === true || (req.method !== 'GET' && req.method !== 'HEAD');
    if (!api) return;
    // Browsers send Sec-Fetch-Site on every request; "none" is a typed URL or a bookmark.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ServeError(403, 'CROSS_ORIGIN', `cross-origin API requests are refused (Sec-Fetch-Site: ${site})`);
    // A browser sends Origin on every POST (and on cross-origin GETs); tools such as curl send
    // none, and they are not a web page acting for the user.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) throw new ServeError(403, 'CROSS_ORIGIN', `cross-origin API requests are refused (Origin: ${origin.slice(0, 100)})`);
  };
}

/**
 * The page's Content-Security-Policy: its own scripts and styles only, WebAssembly compilation for
 * the runtime, fetches to this server, no framing, no plugins, no form posts anywhere.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  // Other sites may not embed the models, the runtime or API answers (no cross-site reads).
  'cross-origin-resource-policy': 'same-origin',
};

/** onRequest hook setting the security headers (set first, so error replies carry them too). */
export async function securityHeaders(_req: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.headers(HEADERS);
}

/** The same headers, for replies fastify makes before any hook runs (a malformed URL). */
export function setSecurityHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers(HEADERS);
}
