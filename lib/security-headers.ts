/**
 * The security headers on every answer of the site, page and API alike: the one source for CloudFront's
 * response headers policy (lib/constructs/website.ts) and for the local gateway (lib/local/stack.ts).
 * Plain data, no aws-cdk-lib: the local stack and the tests import it without the CDK.
 */

/**
 * The page's content security policy: its own script (`app.js`, a module) and stylesheet, fetches to the
 * same origin (the API is behind the same distribution), no inline code, no framing. The status page
 * that `GET /api/tasks/{id}` renders as HTML has no inline script or style either, so it passes too.
 * Should a script ever be injected (a bug in how a value is shown), the browser refuses to run it.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * HTTP Strict Transport Security: for a year, the browser goes to the site (and its subdomains) over
 * HTTPS only, so that nobody on the way can serve a forged form over plain HTTP after the first visit.
 */
export const STRICT_TRANSPORT_SECURITY = {
  maxAgeSeconds: 365 * 24 * 60 * 60,
  includeSubdomains: true,
} as const;

/**
 * `X-Content-Type-Options: nosniff`: the browser takes each answer for the type it is sent as, so a
 * JSON answer that echoes text is never run as a script or shown as HTML.
 */
export const CONTENT_TYPE_OPTIONS = 'nosniff';

/**
 * `X-Frame-Options: DENY`: no other site may show the form in a frame and trick a visitor into
 * submitting it (clickjacking); `frame-ancestors 'none'` says the same to browsers that read the CSP.
 */
export const FRAME_OPTIONS = 'DENY';

/**
 * `Referrer-Policy: same-origin`: the site's own addresses (task ids in `?task=` included) are never
 * sent to another site as the referrer.
 */
export const REFERRER_POLICY = 'same-origin';

/**
 * The headers as they are sent (lower-case names, as HTTP/2 has them). `Strict-Transport-Security`
 * only when `https`: over plain HTTP browsers ignore it, and it says nothing true there.
 */
export function securityHeaders({ https }: { https: boolean }): Record<string, string> {
  const { maxAgeSeconds, includeSubdomains } = STRICT_TRANSPORT_SECURITY;
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    ...(https
      ? {
          'strict-transport-security': `max-age=${maxAgeSeconds}${includeSubdomains ? '; includeSubDomains' : ''}`,
        }
      : {}),
    'x-content-type-options': CONTENT_TYPE_OPTIONS,
    'x-frame-options': FRAME_OPTIONS,
    'referrer-policy': REFERRER_POLICY,
  };
}
