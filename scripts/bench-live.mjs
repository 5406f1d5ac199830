// Live rendition benchmark (issue 15), run by scripts/bench-live against a running server:
//   AUDIOBY_URL=http://127.0.0.1:PORT AUDIOBY_API_KEY=KEY node scripts/bench-live.mjs
// 1. Click to first audio on a demo-like page for an uncached article: 10 runs, median and p90,
//    without and then with a 20-article prefetch running (every article's sentences are new,
//    so nothing comes from the segment cache).
// 2. Time to first byte of GET /v1/articles/{id}/audio/live for an uncached article: 10 runs.
// Prints lines starting with "BENCH ". Needs tests/browser/node_modules (scripts/setup).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/browser/package.json'));
const { chromium } = require('playwright-core');

const BASE = (process.env.AUDIOBY_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const KEY = process.env.AUDIOBY_API_KEY || '';
const RUNS = Number(process.env.RUNS || 10);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const api = (p, init = {}) => fetch(BASE + p, { ...init, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...(init.headers || {}) } });

async function paragraphs() {
  const html = await (await fetch(BASE + '/')).text();
  return [...html.matchAll(/<p data-audioby-block="\d+">([^<]*)<\/p>/g)].map((m) => m[1]
    .replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
}

let serial = 0;
/** A fresh, uncached copy of the demo article; returns its id and its queued job. */
async function freshArticle(ps, tag) {
  serial += 1;
  const id = `bench-${tag}-${Date.now()}-${serial}`;
  const text = ps.map((p) => p.split(/(?<=[.!?][”"]?)\s+/).map((x) => `Run ${serial} ${tag}, ${x}`).join(' ')).join('\n\n');
  const r = await api(`/v1/articles/${id}`, { method: 'PUT', body: JSON.stringify({ title: `Bench ${serial}`, text }) });
  if (!r.ok) throw new Error(`PUT ${id}: ${r.status} ${await r.text()}`);
  return { id, job: (await r.json()).job?.id };
}

const page = (id) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title><link rel="icon" href="data:,">
<script src="${BASE}/player.js"></script></head><body><main><audioby-player article="${id}" style="display:block;height:64px"></audioby-player></main></body></html>`;

async function clickToAudio(browser, id) {
  const context = await browser.newContext();
  const p = await context.newPage();
  const url = `${BASE}/__bench/${id}.html`;
  await p.route(url, (r) => r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: page(id) }));
  await p.goto(url);
  await p.waitForFunction(() => document.querySelector('audioby-player')?.hasAttribute('state'));
  await p.evaluate(() => {
    const el = document.querySelector('audioby-player');
    el.addEventListener('pointerdown', () => {
      window.__t0 = performance.now();
      const seen = () => { if (el.audio.currentTime > 0) window.__t1 = performance.now(); else requestAnimationFrame(seen); };
      requestAnimationFrame(seen);
    }, { capture: true, once: true });
  });
  await p.locator('audioby-player .play').click();
  await p.waitForFunction(() => window.__t1, null, { timeout: 300_000, polling: 20 });
  const ms = await p.evaluate(() => window.__t1 - window.__t0);
  await context.close();
  return ms;
}

async function cancel(job) {
  if (job) await api(`/v1/jobs/${job}`, { method: 'DELETE' });
}

const q = (xs, f) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(f * s.length) - 1)]; };
const report = (name, xs) => console.log(`BENCH ${name} median_ms=${q(xs, 0.5).toFixed(0)} p90_ms=${q(xs, 0.9).toFixed(0)} runs=${xs.length} all=${xs.map((x) => x.toFixed(0)).join(',')}`);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
const ps = await paragraphs();
try {
  for (const withPrefetch of [false, true]) {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const prefetch = [];
      if (withPrefetch) for (let k = 0; k < 20; k++) prefetch.push(await freshArticle(ps, 'night'));
      const { id, job } = await freshArticle(ps, withPrefetch ? 'busy' : 'quiet');
      times.push(await clickToAudio(browser, id));
      // Leave the queue as it was: the next run measures the same situation.
      for (const a of prefetch) await cancel(a.job);
      await cancel(job);
    }
    report(withPrefetch ? 'click_to_first_audio_live_with_prefetch20' : 'click_to_first_audio_live', times);
  }
  const ttfb = [];
  for (let i = 0; i < RUNS; i++) {
    const { id, job } = await freshArticle(ps, 'ttfb');
    const t0 = performance.now();
    const r = await fetch(`${BASE}/v1/articles/${id}/audio/live?format=opus`);
    const reader = r.body.getReader();
    await reader.read();
    ttfb.push(performance.now() - t0);
    await reader.cancel();
    await cancel(job);
  }
  report('live_endpoint_ttfb_uncached', ttfb);
} finally {
  await browser.close();
}
