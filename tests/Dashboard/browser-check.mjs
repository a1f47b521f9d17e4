// Drives a real Chromium (Debian's, through playwright-core) against a running dashboard and prints what it saw as one
// JSON object on stdout; the caller (tests/Pester/Dashboard.Tests.ps1) asserts on it. Nothing is judged here, so a
// failure shows the observation itself.
// Usage: node browser-check.mjs ARGS.json, a file holding {"url": LaunchUrl, "port": listener port, "hostile": process
//        name, "downloads": folder, "screenshot": png path, "pauseSeconds": n}. CM_CHROMIUM: the browser (/usr/bin/chromium).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const args = JSON.parse(fs.readFileSync(process.argv[2], 'utf8').replace(/^\uFEFF/, ''));
const executablePath = process.env.CM_CHROMIUM || '/usr/bin/chromium';
// Every field is present (null until seen), so a caller under Set-StrictMode can read any of them.
const out = {
  requests: [], foreignRequests: [], dialogs: [], consoleErrors: [], pageErrors: [], error: null,
  addressAfterLoad: null, liveAfterMs: null, firstContentfulPaintMs: null, cookieVisibleToScript: null, shownAtStart: null,
  searchShown: null, searchRows: [], hostileRows: [], imagesInPage: null, hostileDetail: [], detailTimes: [], blockOffered: false,
  blockDialogAddress: null, blockResult: null, sortAscending: [], sortAscendingAria: null, sortDescending: [],
  keyboardSelected: null, headerEnterSort: null, headerEnterDetailHidden: null, pauseStatusBefore: null, pauseStatusAfter: null, pauseTableUnchanged: null, resumeStatus: null,
  downloadName: null, downloadPath: null, alertText: null, graphPoints: null, graphNote: null, graphCanvases: null,
  rangePressed: [], processName: null, processTitle: null, processNow: null, processNote: null, processFilter: null, processCanvases: null,
  themeBefore: null, themeAfter: null, keyStored: null, narrowOverflowPx: null, narrowRows: null, narrowTableScrolls: null, secondTabLive: null, secondTabAddress: null, detailOpenAfterEnter: null, detailOnScreen: null, movingBytesBefore: null, movingBytesAfter: null, detailHiddenAfterEscape: null, detailHiddenLater: null,
  createdTitle: null, createdTitlesAtStart: null, createdTitleHovered: null, talkerTexts: [], processChartFits: null, cutCells: null, scrollsSideways: null,
};
const origin = new URL(args.url).origin;

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, colorScheme: 'light' });
  const page = await context.newPage();
  page.on('request', (r) => { out.requests.push(r.url()); if (new URL(r.url()).origin !== origin) out.foreignRequests.push(r.url()); });
  page.on('dialog', async (d) => { out.dialogs.push(d.type() + ': ' + d.message()); await d.dismiss(); });
  page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text() + (m.location() && m.location().url ? ' (' + new URL(m.location().url).pathname + ')' : '')); });
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));

  const started = Date.now();
  await page.goto(args.url);
  out.addressAfterLoad = page.url();
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('live'), null, { timeout: 15000 });
  out.liveAfterMs = Date.now() - started;
  out.firstContentfulPaintMs = await page.evaluate(() => {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    return e ? Math.round(e.startTime) : null;
  });
  out.cookieVisibleToScript = await page.evaluate(() => document.cookie);
  out.shownAtStart = await page.textContent('#shown');
  // No Created tip is written with the first rows (the first locale formatting is slow): only for a row pointed at or selected.
  out.createdTitlesAtStart = await page.$$eval('#rows .row', (rows) => rows.filter((r) => r.children[11].title !== '').length);

  // The test's listener: found by searching for its port.
  const local = '127.0.0.1:' + args.port;
  await page.fill('#search', String(args.port));
  await page.waitForFunction((l) => Array.from(document.querySelectorAll('#rows .row')).some((r) => r.children[1].textContent === l), local, { timeout: 10000 });
  out.searchShown = await page.textContent('#shown');
  out.searchRows = await page.$$eval('#rows .row', (rows) => rows.map((r) => Array.from(r.children).map((c) => c.textContent)));
  // At 1280 px the widest text each fixed column can get fits whole: a row given them (7-digit PID as Linux's pid_max
  // allows, the longest state, a 6-digit ASN, the widest byte count and rate that bytes() and rate() write, a bound creation time) shows
  // every one uncut, every heading is whole, and the table does not scroll sideways.
  const widest = { 3: 'SynReceived', 4: '4194304', 7: 'AS401308', 8: '1023 MB', 9: '1023 KB/s', 10: '1023 KB/s', 11: '\u226423:59:59' };
  out.cutCells = await page.evaluate((texts) => {
    const row = document.querySelector('#rows .row').cloneNode(true);
    for (const [i, t] of Object.entries(texts)) row.children[i].textContent = t;
    document.getElementById('rows').appendChild(row);
    const cut = Object.keys(texts).filter((i) => row.children[i].scrollWidth > row.children[i].clientWidth).map((i) => texts[i]);
    row.remove();
    // and every column's heading (buttons: their scrollWidth does not grow with the text, so the text's own width is measured)
    for (const th of document.querySelectorAll('#thead .th')) {
      const text = document.createRange();
      text.selectNodeContents(th);
      const style = getComputedStyle(th);
      if (text.getBoundingClientRect().width + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) > th.clientWidth) cut.push(th.textContent);
    }
    return cut;
  }, widest);
  // (headless Chromium draws no scrollbar: a classic one, 17 px as on Windows, must fit beside the row all the same)
  out.scrollsSideways = await page.$eval('#viewport', (v) => parseFloat(getComputedStyle(document.querySelector('#rows .row')).minWidth) + 17 - (v.offsetWidth - v.clientWidth) > v.clientWidth);
  // The pair's client, sending all along: its Bytes cell (the ninth) changes with the next updates.
  const bytesCell = (l) => {
    const row = Array.from(document.querySelectorAll('#rows .row')).find((r) => r.children[1].textContent === l);
    return row ? row.children[8].textContent : null;
  };
  const client = '127.0.0.1:' + args.clientPort;
  out.movingBytesBefore = await page.evaluate(bytesCell, client);
  await page.waitForFunction(([l, before]) => {
    const row = Array.from(document.querySelectorAll('#rows .row')).find((r) => r.children[1].textContent === l);
    return row != null && row.children[8].textContent !== before;
  }, [client, out.movingBytesBefore], { timeout: 10000 }).catch(() => {});
  out.movingBytesAfter = await page.evaluate(bytesCell, client);

  // The hostile process name, shown as text.
  await page.fill('#search', args.hostile);
  await page.waitForFunction((h) => Array.from(document.querySelectorAll('#rows .row')).some((r) => r.children[5].textContent === h), args.hostile, { timeout: 10000 });
  out.hostileRows = await page.$$eval('#rows .row', (rows) => rows.map((r) => r.children[5].textContent));
  out.imagesInPage = await page.$$eval('img', (imgs) => imgs.length);
  out.hostileDetail = null;
  // A short window (the side panel's talkers and alert rules then fill it): opened by a click, the detail still comes on
  // screen, its heading inside the window.
  await page.setViewportSize({ width: 1280, height: 420 });
  await page.click('#rows .row');
  out.hostileDetail = await page.$$eval('#detail-list dd', (dds) => dds.map((d) => d.textContent));
  // The detail's times: [name, text, title] of each dd that has a title (the value as sent).
  out.detailTimes = await page.$$eval('#detail-list dd[title]', (dds) => dds.map((d) => [d.previousElementSibling.textContent, d.textContent, d.title]));
  out.detailOnScreen = await page.$eval('#detail-h', (h) => { const r = h.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; });
  await page.setViewportSize({ width: 1280, height: 800 });

  // The Block action on that row (a loopback peer): it asks first, then the guard refuses and the page says why.
  out.blockOffered = await page.isVisible('#detail-block');
  if (out.blockOffered) {
    await page.click('#detail-block');
    await page.waitForSelector('#block-dialog[open]');
    out.blockDialogAddress = await page.textContent('#block-address');
    await page.click('#block-confirm');
    await page.waitForFunction(() => document.getElementById('block-result').textContent.length > 0, null, { timeout: 10000 });
    out.blockResult = await page.textContent('#block-result');
  }

  // Sorting: by Local, ascending, then descending; the visible rows' ports in order.
  await page.fill('#search', '');
  await page.click('#thead .th:nth-child(2)');
  out.sortAscending = await page.$$eval('#rows .row', (rows) => rows.map((r) => r.children[1].textContent));
  out.sortAscendingAria = await page.getAttribute('#thead .th:nth-child(2)', 'aria-sort');
  await page.click('#thead .th:nth-child(2)');
  out.sortDescending = await page.$$eval('#rows .row', (rows) => rows.map((r) => r.children[1].textContent));

  // Keyboard: the table takes focus, arrows move the selection, Enter opens the detail.
  await page.focus('#viewport');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  out.keyboardSelected = await page.$$eval('#rows .row.selected', (rows) => rows.length);
  out.detailOpenAfterEnter = await page.isVisible('#detail');
  out.createdTitle = await page.$eval('#rows .row.selected', (r) => r.children[11].title);
  // A row pointed at has its Created tip (read from whichever row is under the pointer: an update may redraw the rows).
  await page.hover('#rows .row:nth-child(3) > :nth-child(12)');
  out.createdTitleHovered = await page.waitForFunction(() => {
    const r = document.querySelector('#rows .row:hover');
    return r && r.children[11].title !== '' ? r.children[11].title : null;
  }, null, { timeout: 5000 }).then((h) => h.jsonValue()).catch(() => '');
  // Escape closes the detail, and the next updates (one a second) leave it closed.
  await page.keyboard.press('Escape');
  out.detailHiddenAfterEscape = await page.isHidden('#detail');
  await page.waitForTimeout(2500);
  out.detailHiddenLater = await page.isHidden('#detail');
  // With a row selected, Enter on a column header (reached by Tab) sorts by that column and opens no detail.
  await page.focus('#thead .th:nth-child(4)');
  await page.keyboard.press('Enter');
  out.headerEnterSort = await page.getAttribute('#thead .th:nth-child(4)', 'aria-sort');
  out.headerEnterDetailHidden = await page.isHidden('#detail');
  // Back to the sort the steps below had (Local, descending).
  await page.click('#thead .th:nth-child(2)');
  await page.click('#thead .th:nth-child(2)');

  // Pause: the table keeps its rows while samples keep arriving.
  // Each drawn row's text by its key: the rows drawn may be more or fewer later (the header's talkers, following the samples,
  // can change the viewport's height), but a row drawn both times must read the same.
  const drawnRows = () => page.$$eval('#rows .row', (rows) => rows.map((r) => [r.dataset.key, r.textContent]));
  await page.click('#pause');
  const frozen = await drawnRows();
  const statusPaused = await page.textContent('#status');
  // The header's total and a top talker's count go on following the samples: overwritten here, written again by the next.
  await page.evaluate(() => { document.getElementById('stat-total').firstChild.data = 'x'; document.querySelector('#talk-conn li .value').firstChild.data = 'x'; });
  await page.waitForTimeout(args.pauseSeconds * 1000);
  out.pausedTotal = await page.textContent('#stat-total');
  out.pausedTalker = await page.textContent('#talk-conn li .value');
  // At least two frames held back (a loaded machine may take longer than the pause to bring them); the test checks the count.
  await page.waitForFunction(() => /^paused \(([2-9]|\d{2,}) new\)$/.test(document.getElementById('status').textContent), null, { timeout: 20000 }).catch(() => {});
  out.pauseStatusBefore = statusPaused;
  out.pauseStatusAfter = await page.textContent('#status');
  const later = new Map(await drawnRows());
  const both = frozen.filter(([key]) => later.has(key));
  out.pauseRowsCompared = both.length;
  out.pauseRowsFrozen = frozen.length;
  out.pauseTableUnchanged = both.every(([key, text]) => later.get(key) === text);
  await page.click('#pause');
  out.resumeStatus = await page.textContent('#status');
  // Resumed, the rows held back are drawn: some row drawn when paused reads differently now (the test's busy pairs move
  // their counters every second), so the pause above had something to hold still.
  await page.waitForFunction((before) => Array.from(document.querySelectorAll('#rows .row')).some((r) => before[r.dataset.key] !== undefined && before[r.dataset.key] !== r.textContent),
    Object.fromEntries(frozen), { timeout: 10000 }).catch(() => {});
  const resumed = new Map(await drawnRows());
  out.resumeRowsChanged = frozen.filter(([key, text]) => resumed.has(key) && resumed.get(key) !== text).length;

  // Export of the current view (filtered to the listener) as CSV, downloaded by the browser.
  await page.fill('#search', String(args.port));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  out.downloadName = download.suggestedFilename();
  out.downloadPath = path.join(args.downloads, out.downloadName);
  await download.saveAs(out.downloadPath);

  // The alert rule the test registered, fired by a listener it opened after the page loaded (the list refreshes every 5 s).
  if (args.alertRule) {
    await page.waitForFunction((name) => Array.from(document.querySelectorAll('#alerts li')).some((li) => li.textContent.includes(name) && /fired \d+×/.test(li.textContent)),
      args.alertRule, { timeout: 30000 });
    out.alertText = await page.$$eval('#alerts li', (lis, name) => lis.map((li) => li.textContent).find((t) => t.includes(name)), args.alertRule);
  }

  // History graphs from the recording, and the process view of the top talker by connections.
  await page.click('.ranges button[data-range="1h"]');
  await page.waitForFunction(() => Number(document.getElementById('graph-note').dataset.points || 0) > 0, null, { timeout: 20000 });
  out.graphPoints = Number(await page.getAttribute('#graph-note', 'data-points'));
  out.graphNote = await page.textContent('#graph-note');
  out.graphCanvases = await page.$$eval('.graph-row canvas', (c) => c.length);
  out.rangePressed = await page.$$eval('.ranges button[aria-pressed="true"]', (b) => b.map((x) => x.dataset.range));
  // Each talker item reads as its name and its value: hidden parts hold no old text.
  out.talkerTexts = await page.$$eval('#talk-conn li', (lis) => lis.map((li) => [li.textContent, li.querySelector('.name').title + li.querySelector('.value').textContent]));
  const talker = await page.$('#talk-conn li button:not([hidden])');
  out.processName = talker ? await talker.textContent() : null;
  if (talker) {
    await talker.click();
    await page.waitForSelector('#process:not([hidden])');
    out.processTitle = await page.textContent('#process-h');
    out.processNow = await page.textContent('#process-now');
    out.processFilter = await page.inputValue('#f-process');
    await page.waitForFunction(() => document.querySelectorAll('#g-process-conn canvas').length > 0, null, { timeout: 10000 });
    out.processCanvases = await page.$$eval('#process canvas', (c) => c.length);
    out.processNote = await page.textContent('#process-note');
    await page.click('#process-close');
    // A window resized while the process view is closed: its charts, opened again, fit their boxes.
    await page.setViewportSize({ width: 1400, height: 800 });
    await talker.click();
    await page.waitForSelector('#process:not([hidden])');
    await page.waitForTimeout(1000);
    out.processChartFits = await page.$$eval('#process .graph > div', (ds) => ds.every((d) => { const u = d.querySelector('.uplot'); return u && u.getBoundingClientRect().width <= d.getBoundingClientRect().width + 1; }));
    await page.click('#process-close');
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  // A busy frame's counters gone from the server when the page asks (it fell behind): the page takes the whole table again,
  // and the stream and its binary counters go on.
  const pathOf = (u) => new URL(u).pathname;
  out.snapshotRequestsBeforeCatchUp = out.requests.filter((u) => pathOf(u) === '/api/snapshot').length;
  await page.route('**/api/counters?*', (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'gone' }));
  await page.waitForRequest((r) => pathOf(r.url()) === '/api/snapshot', { timeout: 15000 });
  await page.unroute('**/api/counters?*');
  await page.waitForResponse((r) => pathOf(r.url()) === '/api/counters' && r.status() === 200, { timeout: 15000 });
  await page.waitForFunction(() => /^live /.test(document.getElementById('status').textContent), null, { timeout: 15000 });
  out.catchUpStatus = await page.textContent('#status');
  out.snapshotRequestsAfterCatchUp = out.requests.filter((u) => pathOf(u) === '/api/snapshot').length;

  // Theme switch and a screenshot of the whole view.
  await page.fill('#search', '');
  out.themeBefore = await page.getAttribute('html', 'data-theme');
  await page.click('#theme');
  out.themeAfter = await page.getAttribute('html', 'data-theme');
  await page.click('#theme');
  if (args.screenshot) await page.screenshot({ path: args.screenshot });

  // A narrow window (400 px): nothing wider than the window but the table, which scrolls sideways in itself; rows drawn.
  await page.setViewportSize({ width: 400, height: 800 });
  await page.waitForTimeout(500);
  out.narrowOverflowPx = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  out.narrowRows = await page.$$eval('#rows .row', (rows) => rows.length);
  out.narrowTableScrolls = await page.evaluate(() => { const v = document.getElementById('viewport'); return v.scrollWidth > v.clientWidth; });
  await page.setViewportSize({ width: 1280, height: 800 });

  // The page's key: in this origin's storage (not in a cookie, which other ports of the host would get), so a second tab
  // opened at the plain address goes live too; the key never shows in the address.
  out.keyStored = await page.evaluate(() => /^[A-Za-z0-9_-]{43}$/.test(localStorage.getItem('cm-dashboard-key') || ''));
  const second = await context.newPage();
  await second.goto(origin + '/');
  out.secondTabLive = await second.waitForFunction(() => document.getElementById('status').textContent.startsWith('live'), null, { timeout: 15000 }).then(() => true).catch(() => false);
  out.secondTabAddress = second.url();
  await second.close();
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
