// A page whose first event stream is refused (503), then left open while its dashboard is stopped and started again (a
// new token, a new page key, the same port): drives a
// real Chromium (Debian's, through playwright-core) and prints what it saw as one JSON object on stdout; the caller
// (tests/Pester/Dashboard.Tests.ps1) restarts the dashboard between the steps and asserts on the result.
// Usage: node browser-restart.mjs ARGS.json, a file holding {"url": first LaunchUrl, "liveMarker": a path this script
//        writes once the page is live, "newUrlFile": a path the caller writes the second LaunchUrl into}.
//        CM_CHROMIUM: the browser (/usr/bin/chromium).
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const args = JSON.parse(fs.readFileSync(process.argv[2], 'utf8').replace(/^\uFEFF/, ''));
const executablePath = process.env.CM_CHROMIUM || '/usr/bin/chromium';
const out = {
  error: null, timeline: [], streamsRefused: null, firstLive: null, statusAfterRestart: null, statusTitle: null, apiRequestsAfterRestart: null,
  secondLive: null, secondAddress: null, secondRows: null, pageErrors: [],
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));
  // What the page asked and heard, and its status line each half second: shown when an assertion fails.
  const t0 = Date.now();
  const note = (what) => out.timeline.push((Date.now() - t0) + ' ' + what);
  page.on('response', (r) => { if (!r.url().includes('/assets/')) note(r.status() + ' ' + new URL(r.url()).pathname); });
  page.on('requestfailed', (r) => note('failed ' + new URL(r.url()).pathname + ' ' + (r.failure() && r.failure().errorText)));
  let lastStatus = null;
  setInterval(async () => {
    try { const s = await page.textContent('#status'); if (s !== lastStatus) note('status ' + (lastStatus = s)); } catch (e) { /* closing */ }
  }, 500).unref();
  let apiAfterRestart = null;
  page.on('request', (r) => { if (apiAfterRestart !== null && new URL(r.url()).pathname.startsWith('/api/')) apiAfterRestart.push(r.url()); });

  // The page's first event stream is answered 503, as a dashboard that is starting or stopping answers: a browser does
  // not retry a stream answered with an error status, so the page starts it again itself and goes live.
  let streamsRefused = 0;
  await page.route(/\/api\/events/, async (route) => {
    if (streamsRefused === 0) { streamsRefused++; await route.fulfill({ status: 503, contentType: 'text/plain', body: '503 Service Unavailable: the dashboard is starting or stopping.\n' }); }
    else await route.continue();
  });
  const streamAnswered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/events' && r.status() === 200, { timeout: 20000 });
  await page.goto(args.url);
  await streamAnswered;
  out.streamsRefused = streamsRefused;
  await page.unroute(/\/api\/events/);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('live'), null, { timeout: 15000 });
  out.firstLive = true;
  note('live marker');
  fs.writeFileSync(args.liveMarker, 'live');

  // The caller stops the dashboard and starts it again on the same port: the page's retry meets the new one, which
  // refuses its cookie and key, and the page says what to do instead of retrying for ever.
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('restarted'), null, { timeout: 45000 });
  out.statusAfterRestart = await page.textContent('#status');
  out.statusTitle = await page.getAttribute('#status', 'title');
  apiAfterRestart = [];
  await sleep(3000); // the page asks nothing more of the new dashboard (its requests would each count as refused)
  out.apiRequestsAfterRestart = apiAfterRestart.length;

  // The new LaunchUrl, opened in the same tab, goes live with the new key.
  const deadline = Date.now() + 30000;
  while (!fs.existsSync(args.newUrlFile) && Date.now() < deadline) await sleep(100);
  const newUrl = fs.readFileSync(args.newUrlFile, 'utf8').trim();
  await page.goto(newUrl);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('live'), null, { timeout: 15000 });
  out.secondLive = true;
  out.secondAddress = page.url();
  out.secondRows = await page.$$eval('#rows .row', (rows) => rows.length);
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
