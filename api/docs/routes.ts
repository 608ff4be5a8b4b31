import express, { Router } from 'express';
import { buildOpenApiDocument, type OpenApiOptions } from '../openapi';
import { DOCS_PATH, OPENAPI_PATH } from './openapi';

// swagger-ui-dist's getAbsoluteFSPath, without loading its 1.5 MB browser bundle (the package has no types).
const swaggerUiDistPath: () => string = require('swagger-ui-dist/absolute-path.js');

/** Where the page's scripts and styles live: Swagger UI's own files plus our start-up script. */
const ASSETS = `${DOCS_PATH}/assets`;
const STARTUP_SCRIPT = 'start-swagger-ui.js';

/** Everything the page loads comes from this host, so the page needs no inline script. */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes from script.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Game Payment Center API</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="${ASSETS}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/${STARTUP_SCRIPT}"></script>
</body>
</html>
`;

/** Credentials "Try it out" signs game-server calls with (development only: the demo game's). */
export interface DemoSigner {
  gameId: string;
  secret: string;
}

/**
 * In development the page signs game-server calls (`X-Game-Id` … `X-Signature`, as a game server
 * would) with the demo game's secret, and fills a fresh Idempotency-Key, so a newcomer can create
 * and read orders from the page. Elsewhere the page only documents.
 */
function startupScript(signer: DemoSigner | undefined): string {
  const sign = signer
    ? `
const DEMO = ${JSON.stringify(signer)};
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
async function signDemoGameRequest(req) {
  const url = new URL(req.url, window.location.origin);
  if (!/^\\/v1\\/(orders|games)(\\/|$)/.test(url.pathname) || req.headers['X-Signature']) return req;
  const body = typeof req.body === 'string' ? req.body : '';
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const bodyHash = hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)));
  const canonical = [req.method.toUpperCase(), url.pathname + url.search, timestamp, nonce, bodyHash].join('\\n');
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(DEMO.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  req.headers['X-Game-Id'] = DEMO.gameId;
  req.headers['X-Timestamp'] = timestamp;
  req.headers['X-Nonce'] = nonce;
  req.headers['X-Signature'] = hex(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(canonical)));
  if (req.method.toUpperCase() === 'POST' && url.pathname === '/v1/orders' && !req.headers['Idempotency-Key']) {
    req.headers['Idempotency-Key'] = crypto.randomUUID();
  }
  return req;
}
`
    : '';
  return `${sign}window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  // The default would load a badge from validator.swagger.io.
  validatorUrl: null,${signer ? '\n  requestInterceptor: signDemoGameRequest,' : ''}
});
`;
}

/**
 * `GET /openapi.json` (built once) and `GET /docs`: Swagger UI served from the swagger-ui-dist
 * package, so the page works without any CDN.
 */
export function docsRouter(options: OpenApiOptions & { demoSigner?: DemoSigner }): Router {
  const document = buildOpenApiDocument(options);
  const STARTUP = startupScript(options.demoSigner);
  const router = Router();
  router.get(OPENAPI_PATH, (_req, res) => {
    res.json(document);
  });
  router.get(DOCS_PATH, (_req, res) => {
    res.set({ 'Content-Security-Policy': PAGE_CSP }).type('html').send(PAGE);
  });
  // Static files, not API routes: the start-up script, then the package's files.
  router.use(ASSETS, (req, res, next) => {
    if (req.method !== 'GET' || req.path !== `/${STARTUP_SCRIPT}`) return next();
    res.type('text/javascript').send(STARTUP);
  });
  router.use(ASSETS, express.static(swaggerUiDistPath(), { index: false, redirect: false }));
  return router;
}
