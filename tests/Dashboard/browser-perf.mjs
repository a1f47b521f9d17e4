// The dashboard's cost in a real Chromium, for tests/Benchmarks (--dashboard): opens the launch address, lets the page
// take updates for a while, and prints one JSON object: first contentful paint and the time until the first rows are
// drawn (ms after navigation start), then, once the page has settled, updates seen, the script's time per update (User Timing "cm-update": parse,
// filter, sort, draw), and the main thread's whole busy time per update from the Chrome DevTools Protocol
// (Performance.getMetrics TaskDuration, which includes style, layout and paint).
// Usage: node browser-perf.mjs LAUNCH_URL SECONDS   (CM_CHROMIUM: the browser, default /usr/bin/chromium; CM_TRACE,
// CM_TRACE_UPDATES, CM_CPU_PROFILE: see below)
import { chromium } from 'playwright-core';

const [url, secondsText] = process.argv.slice(2);
const seconds = Number(secondsText || 30);
const browser = await chromium.launch({ executablePath: process.env.CM_CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  // CM_TRACE=FILE: a Chrome trace of the page's load until the first rows (open it in chrome://tracing or Perfetto).
  // Tracing costs the browser time: a traced run's figures are for finding where time goes, not for comparing.
  if (process.env.CM_TRACE) await browser.startTracing(page, { path: process.env.CM_TRACE, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'loading', 'v8', 'toplevel', 'netlog'] });
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#rows .row').length > 0, null, { timeout: 30000 });
  if (process.env.CM_TRACE) await browser.stopTracing();
  Object.assign(out, await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const first = performance.getEntriesByName('cm-update')[0];
    return {
      firstContentfulPaintMs: fcp ? Math.round(fcp.startTime) : null,
      firstRowsMs: first ? Math.round(first.startTime + first.duration) : null,
      navigationMs: nav ? Math.round(nav.duration) : null,
      // The whole table's fetch: asked, sent, first byte, last byte (ms after navigation start), when the page had its
      // text (User Timing mark "cm-snapshot-text"), and the first update's script.
      snapshotFetchMs: performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/api/snapshot'))
        .map((e) => [e.startTime, e.requestStart, e.responseStart, e.responseEnd].map(Math.round))[0] || null,
      snapshotTextMs: (performance.getEntriesByName('cm-snapshot-text')[0] || { startTime: null }).startTime,
      firstUpdateScriptMs: first ? Math.round(first.duration) : null,
      rows: Number((document.getElementById('shown').textContent.match(/\d+/) || [0])[0]),
    };
  }));
  // Per update means in steady state: the window opens once the page has settled — the chart library loaded after the
  // first rows, the history graphs drawn (or their note written), and 3 s more — so one-time start-up work (measured
  // above as first paint and first rows) is not spread over the updates.
  await page.waitForFunction(() => document.getElementById('graph-note').textContent !== '', null, { timeout: 30000 });
  await page.waitForTimeout(3000);
  const metric = (m, name) => (m.metrics.find((x) => x.name === name) || { value: 0 }).value;
  const count0 = await page.evaluate(() => performance.getEntriesByName('cm-update').length);
  const m0 = await cdp.send('Performance.getMetrics');
  // CM_TRACE_UPDATES=FILE: a Chrome trace of the first 5 s of the measured updates.
  if (process.env.CM_TRACE_UPDATES) {
    await browser.startTracing(page, { path: process.env.CM_TRACE_UPDATES, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.invalidationTracking', 'blink', 'loading', 'v8', 'toplevel'] });
    await page.waitForTimeout(5000);
    await browser.stopTracing();
    await page.waitForTimeout(Math.max(0, seconds * 1000 - 5000));
  } else if (process.env.CM_CPU_PROFILE) {
    // CM_CPU_PROFILE=FILE: a V8 CPU profile of the measured updates (a .cpuprofile for DevTools' Performance panel).
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    await page.waitForTimeout(seconds * 1000);
    const { profile } = await cdp.send('Profiler.stop');
    (await import('node:fs')).writeFileSync(process.env.CM_CPU_PROFILE, JSON.stringify(profile));
  } else await page.waitForTimeout(seconds * 1000);
  const m1 = await cdp.send('Performance.getMetrics');
  const durations = await page.evaluate((skip) => performance.getEntriesByName('cm-update').slice(skip).map((e) => e.duration), count0);
  durations.sort((a, b) => a - b);
  out.updates = durations.length;
  out.scriptMedianMs = durations.length ? durations[Math.floor(durations.length / 2)] : null;
  out.scriptMaxMs = durations.length ? durations[durations.length - 1] : null;
  // The script's stages (median ms): parse the frame's text, take it into the rows, update the page (filter, sort, draw).
  out.stagesMedianMs = await page.evaluate((skip) => Object.fromEntries(['parse', 'take', 'apply'].map((n) => {
    const d = performance.getEntriesByName('cm-' + n).slice(skip).map((e) => e.duration).sort((a, b) => a - b);
    return [n, d.length ? Math.round(d[Math.floor(d.length / 2)] * 10) / 10 : null];
  })), count0);
  out.mainThreadPerUpdateMs = durations.length ? ((metric(m1, 'TaskDuration') - metric(m0, 'TaskDuration')) * 1000) / durations.length : null;
  // The same as the main thread's CPU time (ThreadTime): TaskDuration is wall time, which also counts the moments the thread
  // waited for a core that other processes held.
  out.mainThreadCpuPerUpdateMs = durations.length ? ((metric(m1, 'ThreadTime') - metric(m0, 'ThreadTime')) * 1000) / durations.length : null;
  // Where the tasks' time went, per update (Performance.getMetrics, wall ms): script (ScriptDuration: all of V8's, the
  // message's JSON parse included), style (RecalcStyleDuration), layout (LayoutDuration); the rest is painting,
  // compositing, the stream's data arriving and the tasks' own overhead.
  out.mainThreadSplitMs = durations.length ? Object.fromEntries([['script', 'ScriptDuration'], ['style', 'RecalcStyleDuration'], ['layout', 'LayoutDuration']]
    .map(([k, name]) => [k, Math.round(((metric(m1, name) - metric(m0, name)) * 1000 / durations.length) * 10) / 10])) : null;
  out.heapMB = metric(m1, 'JSHeapUsedSize') / 1048576;
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
