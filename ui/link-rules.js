/**
 * link-rules.js — which links leave the app, decided without a DOM.
 *
 * `isWebLink(href)`: an absolute http(s) URL with a host (what the desktop
 * app hands to the system browser; markdown.js makes links of nothing
 * else). Pure; e2e/unit/context-rules.test.mjs tests it.
 */

export function isWebLink(href) {
  try {
    const url = new URL(String(href ?? ''));
    return (url.protocol === 'http:' || url.protocol === 'https:') && Boolean(url.hostname);
  } catch {
    return false;
  }
}
