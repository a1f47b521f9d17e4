// ConnectionsMonitor dashboard: the live table of the module's session, pushed by Server-Sent Events (/api/events).
// Every value from the server is inserted with textContent, never as HTML. Only the rows on screen are in the DOM.
'use strict';

(function () {
  const ROW_H = 22;
  const $ = (id) => document.getElementById(id);
  // The page's key for its data: the launch's redirect brings it in the address's fragment (#k=…, which no server sees),
  // and it is kept in this origin's storage, which, unlike the cookie, no other port of this host shares. Every /api/
  // request carries it (api); the cookie alone opens only the page.
  const KEY = (() => {
    const m = /^#k=([A-Za-z0-9_-]{43})$/.exec(location.hash);
    if (m) {
      history.replaceState(null, '', location.pathname + location.search);
      try { localStorage.setItem('cm-dashboard-key', m[1]); } catch (e) { /* storage off: this tab still has it */ }
      return m[1];
    }
    try { return localStorage.getItem('cm-dashboard-key') || ''; } catch (e) { return ''; }
  })();
  const api = (path, init = {}) => fetch(path, { ...init, credentials: 'same-origin', headers: { ...(init.headers || {}), 'X-Dashboard-Key': KEY } });
  // Text that only touches the DOM when it changes (a write of the same text would still cost a layout), and then changes
  // the element's one text node in place: replacing the node (textContent) makes the browser recompute its parent's style
  // and build its layout objects again.
  const setText = (el, text) => {
    const t = el.firstChild;
    if (t && t.nodeType === Node.TEXT_NODE && t === el.lastChild) { if (t.data !== text) t.data = text; }
    else if (el.textContent !== text) el.textContent = text;
  };

  // The table's columns: label, the server columns they show, how to show and sort them.
  const COLUMNS = [
    { label: 'Proto', key: 'Protocol', cls: (r, c) => 'proto-' + v(r, c, 'Protocol') },
    // Endpoints sort by what they show, the address (or host name) and then the port as a number.
    { label: 'Local', key: 'LocalAddress', text: (r, c) => endpoint(v(r, c, 'LocalAddress'), v(r, c, 'LocalPort')),
      sort: (r, c) => endpointKey(v(r, c, 'LocalAddress'), v(r, c, 'LocalPort')) },
    { label: 'Foreign', key: 'RemoteAddress', text: (r, c) => endpoint(v(r, c, 'RemoteHostName') || v(r, c, 'RemoteAddress'), v(r, c, 'RemotePort')),
      sort: (r, c) => endpointKey(v(r, c, 'RemoteHostName') || v(r, c, 'RemoteAddress'), v(r, c, 'RemotePort')) },
    { label: 'State', key: 'State', cls: (r, c) => 'st-' + (v(r, c, 'State') || '') },
    { label: 'PID', key: 'ProcessId', num: true },
    { label: 'Process', key: 'ProcessName' },
    { label: 'Geo', key: 'Country' },
    { label: 'ASN', key: 'Asn', num: true, text: (r, c) => { const a = v(r, c, 'Asn'); return a == null ? '' : 'AS' + a; } },
    { label: 'Bytes', key: 'BytesSent', num: true, text: (r, c) => bytes(total(v(r, c, 'BytesSent'), v(r, c, 'BytesReceived'))),
      sort: (r, c) => total(v(r, c, 'BytesSent'), v(r, c, 'BytesReceived')), title: 'Bytes sent and received' },
    { label: 'Out/s', key: 'SendRate', num: true, text: (r, c) => rate(v(r, c, 'SendRate')) },
    { label: 'In/s', key: 'ReceiveRate', num: true, text: (r, c) => rate(v(r, c, 'ReceiveRate')) },
    // When the connection was created, as a clock time: unlike a ticking age it stays the same text from update to update,
    // so a second's update rewrites only the rows whose traffic or state changed. '≤' when the session found it open.
    { label: 'Created', key: 'CreationTime', num: true, text: (r, c) => created(r, c), sort: (r, c) => createdMs(r, c), tip: (r, c) => createdTip(r, c),
      title: 'Created (local time; ≤ when it was open already when the session first looked)' },
    { label: 'Flags', key: 'Flags', cls: (r, c) => (v(r, c, 'Flags') ? 'flagged' : '') },
  ];

  let columns = [];          // server column names (the first is Key)
  let index = {};            // name -> position
  const live = new Map();    // key -> row, kept up to date by every update, paused or not
  const rowOfId = new Map(); // a row's id (see "counters") -> its live row: one lookup per counted row
  const idOfKey = new Map(); // key -> id
  let reshaped = true;       // rows came, went or were replaced since the rows shown were made (else only counters moved in them)
  let rows = [];             // the rows shown (arrays), taken from live when not paused
  let haystack = null;       // lower-case text of each row for search, made on demand
  let view = [];             // rows after filters and sort
  let sort = { col: null, dir: 1 };
  let paused = false, waiting = null, waitingCount = 0;
  let selectedKey = null;
  let lastTime = null;

  function v(r, c, name) { const i = c[name]; return i === undefined ? null : r[i]; }
  // Seconds since the connection was opened (or first seen), as of the sample's time.
  function ageOf(r, c) {
    const since = v(r, c, 'CreationTime') || v(r, c, 'FirstSeen');
    if (since == null || lastTime == null) return null;
    return Math.max(0, Math.floor((Date.parse(lastTime) - Date.parse(since)) / 1000));
  }
  function createdMs(r, c) {
    const since = v(r, c, 'CreationTime') || v(r, c, 'FirstSeen');
    return since == null ? null : Date.parse(since);
  }
  // A time of day as 13:45:02 (local), without the Intl API: its first use costs the page 70-120 ms (ICU's locale data),
  // which the first rows should not wait for.
  function clock(d) {
    const two = (n) => (n < 10 ? '0' : '') + n;
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }
  // A whole local time as 2026-12-03 13:45:02, on the same 24-hour clock as the cells, whatever the browser's locale.
  function stamp(d) {
    const two = (n) => (n < 10 ? '0' : '') + n;
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' + clock(d);
  }
  let dayFormat = null;
  // 13:45:02 today (local time), else the day ('Nov 29' in the browser's language) — the whole time is the cell's title;
  // with '≤' when it is a bound (open already when the session first looked).
  function created(r, c) {
    const ms = createdMs(r, c);
    if (ms == null) return '';
    const d = new Date(ms);
    const text = d.toDateString() === new Date().toDateString() ? clock(d)
      : (dayFormat ||= new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' })).format(d);
    return (v(r, c, 'AgeIsLowerBound') ? '≤' : '') + text;
  }
  function createdTip(r, c) {
    const ms = createdMs(r, c);
    if (ms == null) return '';
    return (v(r, c, 'AgeIsLowerBound') ? 'open already when first seen, ' : 'created ') + stamp(new Date(ms));
  }
  function total(a, b) { return a == null && b == null ? null : (a || 0) + (b || 0); }
  // IPv4-mapped IPv6 addresses in IPv4 form, as the PowerShell table view shows them.
  function shown(addr) { return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(addr) ? addr.substring(7) : addr; }
  // An endpoint's sort key: its shown address, then its port as five digits (so 127.0.0.1:9 comes before 127.0.0.1:10).
  function endpointKey(addr, port) {
    return (addr == null ? '' : shown(addr)) + ' ' + (port == null ? '' : String(port).padStart(5, '0'));
  }
  function endpoint(addr, port) {
    if (addr == null) return port == null ? '' : '*:' + port;
    addr = shown(addr);
    const a = addr.indexOf(':') >= 0 ? '[' + addr + ']' : addr;
    return port == null ? a : a + ':' + port;
  }
  function bytes(n) {
    if (n == null) return '';
    const u = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0; let x = n;
    while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
    return (i === 0 ? String(x) : x.toFixed(x < 10 ? 1 : 0)) + ' ' + u[i];
  }
  function rate(n) { return n == null ? '' : bytes(Math.round(n)) + '/s'; }
  function rowKey(r) { return r[0]; }
  function cellText(col, r) {
    if (col.text) return col.text(r, index);
    const x = v(r, index, col.key);
    return x == null ? '' : String(x);
  }

  // ---- header -------------------------------------------------------------------------------------------------------
  function buildHeader() {
    const head = $('thead');
    COLUMNS.forEach((col, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'th' + (col.num ? ' num' : '');
      b.textContent = col.label;
      b.setAttribute('role', 'columnheader');
      b.setAttribute('aria-sort', 'none');
      b.title = 'Sort by ' + (col.title || col.label);
      b.addEventListener('click', () => {
        if (sort.col === i) sort.dir = -sort.dir; else { sort.col = i; sort.dir = col.num ? -1 : 1; }
        head.querySelectorAll('.th').forEach((h, j) => h.setAttribute('aria-sort', j === sort.col ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'));
        refresh();
      });
      head.appendChild(b);
    });
  }

  // Where each column's cells go: the header's cells' left edges and widths (px, from the header's own edge), read when the
  // header's size changes (the grid's flexible columns follow the window) and given to every drawn row's cells (place).
  let columnBoxes = [];
  new ResizeObserver(() => {
    const head = $('thead'), left = head.getBoundingClientRect().left;
    const boxes = Array.from(head.children, (th) => { const r = th.getBoundingClientRect(); return { left: (r.left - left) + 'px', width: r.width + 'px' }; });
    if (boxes.length === columnBoxes.length && boxes.every((b, i) => b.left === columnBoxes[i].left && b.width === columnBoxes[i].width)) return;
    columnBoxes = boxes;
    for (const row of pool) place(row);
  }).observe($('thead'));
  function place(row) {
    for (let i = 0; i < columnBoxes.length && i < row.children.length; i++) {
      const style = row.children[i].style, box = columnBoxes[i];
      if (style.left !== box.left) style.left = box.left;
      if (style.width !== box.width) style.width = box.width;
    }
  }

  // ---- filters ------------------------------------------------------------------------------------------------------
  const filterIds = ['search', 'f-protocol', 'f-state', 'f-country', 'f-process', 'f-vpn', 'f-flagged'];
  filterIds.forEach((id) => $(id).addEventListener(id === 'search' ? 'input' : 'change', () => { scrollViewport(0); refresh(); }));

  // The choices of a filter: the values seen in the rows (a Set), and the one chosen now.
  function fillChoices(id, seen) {
    const select = $(id);
    const current = select.value;
    if (current) seen.add(current);
    const values = Array.from(seen).sort((a, b) => a.localeCompare(b));
    const have = Array.from(select.options).slice(1).map((o) => o.value);
    if (have.length === values.length && have.every((x, k) => x === values[k])) return;
    while (select.options.length > 1) select.remove(1);
    for (const x of values) { const o = document.createElement('option'); o.value = x; o.textContent = x; select.appendChild(o); }
    select.value = current;
  }

  function matches(r, k, f) {
    if (f.protocol && v(r, index, 'Protocol') !== f.protocol) return false;
    if (f.state && v(r, index, 'State') !== f.state) return false;
    if (f.country && v(r, index, 'Country') !== f.country) return false;
    if (f.process && v(r, index, 'ProcessName') !== f.process) return false;
    if (f.vpn === 'yes' && v(r, index, 'IsVpn') !== true) return false;
    if (f.vpn === 'no' && v(r, index, 'IsVpn') === true) return false;
    if (f.flagged && !v(r, index, 'Flags')) return false;
    if (f.search && haystack[k].indexOf(f.search) < 0) return false;
    return true;
  }

  function currentFilters() {
    return {
      search: $('search').value.trim().toLowerCase(),
      protocol: $('f-protocol').value, state: $('f-state').value, country: $('f-country').value,
      process: $('f-process').value, vpn: $('f-vpn').value, flagged: $('f-flagged').checked,
    };
  }

  function refresh() {
    const f = currentFilters();
    if (f.search && haystack == null) {
      haystack = rows.map((r) => r.map((x) => (x == null ? '' : String(x))).join('\u0001').toLowerCase() +
        '\u0001' + COLUMNS.map((c) => cellText(c, r)).join('\u0001').toLowerCase());
    }
    const any = f.search || f.protocol || f.state || f.country || f.process || f.vpn || f.flagged;
    let out = rows;
    if (any) { out = []; for (let k = 0; k < rows.length; k++) if (matches(rows[k], k, f)) out.push(rows[k]); }
    else if (sort.col != null) out = rows.slice(); // sorted below: rows keeps the server's order
    if (sort.col != null) {
      const col = COLUMNS[sort.col];
      const key = col.sort || ((r) => v(r, index, col.key));
      const dir = sort.dir;
      out.sort((a, b) => {
        const x = key(a, index), y = key(b, index);
        if (x == null && y == null) return 0;
        if (x == null) return 1;
        if (y == null) return -1;
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return String(x).localeCompare(String(y)) * dir;
      });
    }
    view = out;
    showShown();
    if ($('viewport').getAttribute('aria-rowcount') !== String(view.length)) $('viewport').setAttribute('aria-rowcount', String(view.length));
    draw();
  }

  // ---- the visible rows ---------------------------------------------------------------------------------------------
  const pool = [];
  const geometry = { top: 0, height: 0 };  // the viewport's scrollTop and clientHeight, kept by the listeners below draw
  function draw() {
    const height = (view.length * ROW_H) + 'px';
    if ($('spacer').style.height !== height) $('spacer').style.height = height;
    // The viewport's scroll position and height as last seen (scroll events, a ResizeObserver): reading them here, after
    // this update's writes, would make the browser lay the page out once more.
    const first = Math.max(0, Math.min(view.length - 1, Math.floor(geometry.top / ROW_H)));
    const count = Math.max(0, Math.min(view.length - first, Math.ceil(geometry.height / ROW_H) + 2));
    const box = $('rows');
    const shift = 'translateY(' + (first * ROW_H) + 'px)';
    if (box.style.transform !== shift) box.style.transform = shift;
    while (pool.length < count) {
      const row = document.createElement('div');
      row.className = 'row';
      row.setAttribute('role', 'row');
      // Each cell holds one text node, whose text changes in place (see setText).
      for (let i = 0; i < COLUMNS.length; i++) {
        const cell = document.createElement('div');
        cell.setAttribute('role', 'gridcell');
        cell.appendChild(document.createTextNode(''));
        row.appendChild(cell);
      }
      row.addEventListener('click', () => select(row.dataset.key, true));
      place(row);
      pool.push(row);
    }
    for (let k = 0; k < pool.length; k++) {
      const row = pool[k];
      if (k >= count) { if (row.parentNode) row.remove(); continue; }
      const r = view[first + k];
      const key = rowKey(r);
      // Only what differs is written: an unchanged row costs the browser no style, layout or paint work.
      if (row.dataset.key !== key) row.dataset.key = key;
      const selected = key === selectedKey;
      if (row.classList.contains('selected') !== selected) row.classList.toggle('selected', selected);
      const at = String(first + k + 1);
      if (row.getAttribute('aria-rowindex') !== at) row.setAttribute('aria-rowindex', at);
      for (let i = 0; i < COLUMNS.length; i++) {
        const col = COLUMNS[i];
        const cell = row.children[i];
        const text = cellText(col, r);
        const node = cell.firstChild;
        if (node.data !== text) node.data = text;
        const cls = 'cell' + (col.num ? ' num' : '') + (col.cls ? ' ' + col.cls(r, index) : '');
        if (cell.className !== cls) cell.className = cls;
      }
      // Another record in this pooled row (another connection, or this one changed): tips written for the one before go.
      const changed = row.record !== r;
      row.record = r;
      if (selected || row === hovered) tips(row);
      else if (changed) tips(row, true);
      if (!row.parentNode || row.parentNode !== box) box.appendChild(row);
    }
    if (selectedKey && !$('detail').hidden) showDetail(); // an open detail follows the selection; a closed one stays closed
  }
  // The titles of a drawn row's cells — a cell's whole text (cut ones end in '…'), or its column's own tip (a time in full) —
  // written while the row is pointed at or selected, and again at each update while it is; clear: emptied. Not at every
  // update for every row: a new title makes the browser recompute the cell's style (the browser's own style sheet has rules on
  // [title]), and the first formatting of a time costs the page tens of ms.
  let hovered = null;
  function tips(row, clear) {
    const r = row.record;
    if (!r) return;
    for (let i = 0; i < COLUMNS.length; i++) {
      const col = COLUMNS[i];
      const t = clear ? '' : col.tip ? col.tip(r, index) : cellText(col, r);
      if (row.children[i].title !== t) row.children[i].title = t;
    }
  }
  $('rows').addEventListener('mouseover', (e) => { const row = e.target.closest('.row'); if (row) { hovered = row; tips(row); } });
  $('rows').addEventListener('mouseleave', () => { hovered = null; });
  function scrollViewport(top) { $('viewport').scrollTop = top; geometry.top = $('viewport').scrollTop; }
  $('viewport').addEventListener('scroll', () => { geometry.top = $('viewport').scrollTop; requestAnimationFrame(draw); }, { passive: true });
  new ResizeObserver(() => { geometry.height = $('viewport').clientHeight; requestAnimationFrame(draw); }).observe($('viewport'));

  // ---- keyboard and detail ------------------------------------------------------------------------------------------
  function select(key, open) {
    selectedKey = key;
    draw();
    if (open) showDetail();
  }
  function showDetail() {
    const r = rows.find((x) => rowKey(x) === selectedKey);
    const panel = $('detail');
    if (!r) { $('detail-h').textContent = 'Connection (closed)'; return; }
    $('detail-h').textContent = 'Connection';
    const list = $('detail-list');
    list.replaceChildren();
    const item = (name, value) => {
      const dt = document.createElement('dt'); dt.textContent = name;
      const dd = document.createElement('dd');
      // Times read in local time like the table's cells; the value as sent (UTC offset and all) is the title.
      const time = value != null && (name === 'CreationTime' || name === 'FirstSeen') ? Date.parse(value) : NaN;
      if (!Number.isNaN(time)) { dd.textContent = stamp(new Date(time)); dd.title = String(value); }
      else dd.textContent = value == null ? '—' : String(value);
      list.append(dt, dd);
    };
    columns.forEach((name, i) => { if (i > 0) item(name, r[i]); });
    item('AgeSeconds', ageOf(r, index));
    const remote = v(r, index, 'RemoteAddress');
    const blockable = info.blocking && remote != null && remote !== '0.0.0.0' && remote !== '::';
    $('detail-block').hidden = !blockable;
    $('detail-block').dataset.address = blockable ? shown(remote) : '';
    // Opening it brings it on screen (below the table at 1280x800); an open one that follows updates stays where it is.
    const opening = panel.hidden;
    panel.hidden = false;
    if (opening) panel.scrollIntoView({ block: 'nearest' });
  }
  $('detail-close').addEventListener('click', () => { $('detail').hidden = true; selectedKey = null; draw(); $('viewport').focus(); });
  $('viewport').addEventListener('keydown', (e) => {
    // The column headers sit in the viewport too: their keys are theirs (Enter and Space sort), not the rows'.
    if (!view.length || e.target.closest('#thead')) return;
    let at = view.findIndex((r) => rowKey(r) === selectedKey);
    if (e.key === 'ArrowDown') at = Math.min(view.length - 1, at + 1);
    else if (e.key === 'ArrowUp') at = Math.max(0, at - 1);
    else if (e.key === 'PageDown') at = Math.min(view.length - 1, at + 20);
    else if (e.key === 'PageUp') at = Math.max(0, at - 20);
    else if (e.key === 'Home') at = 0;
    else if (e.key === 'End') at = view.length - 1;
    else if (e.key === 'Enter' && at >= 0) { showDetail(); e.preventDefault(); return; }
    // Esc closes the detail and keeps the row as the keyboard's place; a second Esc lets go of the row too.
    else if (e.key === 'Escape') { if ($('detail').hidden) { selectedKey = null; draw(); } else $('detail').hidden = true; return; }
    else return;
    e.preventDefault();
    selectedKey = rowKey(view[at]);
    const vp = $('viewport');
    if (at * ROW_H < vp.scrollTop) scrollViewport(at * ROW_H);
    else if ((at + 1) * ROW_H + $('thead').offsetHeight > vp.scrollTop + vp.clientHeight) scrollViewport((at + 1) * ROW_H + $('thead').offsetHeight - vp.clientHeight);
    draw();
  });

  // ---- stats and top talkers ----------------------------------------------------------------------------------------
  function showStats(stats) {
    setText($('stat-tcp'), String(stats.tcp));
    setText($('stat-udp'), String(stats.udp));
    setText($('stat-total'), String(stats.total));
    setText($('stat-send'), stats.sendRate == null ? '–' : rate(stats.sendRate));
    setText($('stat-receive'), stats.receiveRate == null ? '–' : rate(stats.receiveRate));
  }
  // The filters' choices: the values seen in the rows. Only rows that come, go or are replaced change them (a frame of
  // counters alone does not), so they are gathered only then.
  function showChoices() {
    const states = new Set(), countries = new Set(), processes = new Set();
    const pi = index.ProcessName, sti = index.State, ci = index.Country;
    for (const r of rows) {
      const p = r[pi], st = r[sti], c = r[ci];
      if (st != null && st !== '') states.add(String(st));
      if (c != null && c !== '') countries.add(String(c));
      if (p != null && p !== '') processes.add(String(p));
    }
    fillChoices('f-state', states);
    fillChoices('f-country', countries);
    fillChoices('f-process', processes);
  }
  // The top talkers by rate and by connections: one pass over the rows.
  // The row count: of the rows the table holds (frozen while paused) and, paused, how many the samples have now.
  function showShown() {
    let shown = view.length === rows.length ? rows.length + ' rows' : view.length + ' of ' + rows.length + ' rows';
    if (paused && live.size !== rows.length) shown += ', ' + live.size + ' now';
    setText($('shown'), shown);
  }
  // The top talkers by rate and by connections: one pass over the rows shown, or, paused, over the samples' rows.
  function showTalkers(source = rows) {
    const by = new Map();
    const pi = index.ProcessName, si = index.SendRate, ri = index.ReceiveRate;
    for (const r of source) {
      const p = r[pi];
      const name = p == null ? '(no owner)' : p;
      let t = by.get(name);
      if (!t) { t = { name, conns: 0, rate: 0, hasRate: false }; by.set(name, t); }
      t.conns++;
      const send = r[si], receive = r[ri];
      if (send != null || receive != null) { t.rate += (send || 0) + (receive || 0); t.hasRate = true; }
    }
    const all = Array.from(by.values());
    list($('talk-bytes'), all.filter((t) => t.hasRate).sort((a, b) => b.rate - a.rate).slice(0, 8), (t) => rate(t.rate));
    list($('talk-conn'), all.sort((a, b) => b.conns - a.conns).slice(0, 8), (t) => String(t.conns));
  }
  // One item per talker, reused from update to update: only the texts that changed are written (a rebuilt list would
  // cost the browser new layout objects every second).
  function list(ol, items, value) {
    const focused = ol.contains(document.activeElement) ? document.activeElement.dataset.name : null;
    while (ol.children.length > items.length) ol.lastElementChild.remove();
    while (ol.children.length < items.length) {
      const li = document.createElement('li');
      const n = document.createElement('span'); n.className = 'name';
      const b = document.createElement('button'); b.type = 'button';
      b.addEventListener('click', () => openProcess(b.dataset.name));
      const plain = document.createElement('span');
      n.append(b, plain);
      const x = document.createElement('span'); x.className = 'value';
      li.append(n, x);
      ol.appendChild(li);
    }
    items.forEach((t, k) => {
      const li = ol.children[k];
      const n = li.firstElementChild, b = n.firstElementChild, plain = n.lastElementChild;
      const owned = t.name !== '(no owner)';
      if (b.hidden === owned) b.hidden = !owned;
      if (plain.hidden !== owned) plain.hidden = owned;
      if (n.title !== t.name) n.title = t.name;
      if (owned) {
        if (b.dataset.name !== t.name) { b.dataset.name = t.name; b.title = 'Show ' + t.name + ': its connections now and its traffic over time'; }
        setText(b, t.name);
        setText(plain, '');
      } else {
        delete b.dataset.name;
        setText(b, '');
        setText(plain, t.name);
      }
      setText(li.lastElementChild, value(t));
    });
    // The items are reused in rank order: keyboard focus follows its talker to its new place (or, gone, the list's first).
    if (focused != null) {
      const buttons = Array.from(ol.querySelectorAll('button')).filter((x) => !x.hidden);
      const to = buttons.find((x) => x.dataset.name === focused) || buttons[0];
      if (to && document.activeElement !== to) to.focus();
    }
  }

  // ---- live updates -------------------------------------------------------------------------------------------------
  // A frame into the live rows: "snapshot" replaces them; "delta" adds or replaces the rows it carries whole, sets the four
  // counters of the rows it names by id in "counters" (id, BytesSent, BytesReceived, SendRate, ReceiveRate: a busy
  // machine's every row every second, so not sent whole), and drops the keys it names. While paused a changed row is a
  // new array, so the table's rows stay as they were. Then, unless paused, the rows shown become the live ones.
  function link(id, r) {
    const key = r[0];
    const before = idOfKey.get(key);
    if (before !== undefined && before !== id) rowOfId.delete(before);
    rowOfId.set(id, r);
    idOfKey.set(key, id);
  }
  function take(kind, data) {
    if (kind === 'snapshot') {
      columns = data.columns;
      index = {};
      columns.forEach((n, i) => { index[n] = i; });
      live.clear();
      rowOfId.clear();
      idOfKey.clear();
      data.rows.forEach((r, i) => { live.set(r[0], r); link(data.ids[i], r); });
      reshaped = true;
    } else {
      data.upserts.forEach((r, i) => { live.set(r[0], r); link(data.ids[i], r); });
      // The counters: an array of the JSON's numbers (null unknown), or a busy frame's Float64Array (NaN unknown).
      const c = data.counters, sent = index.BytesSent, received = index.BytesReceived, sendRate = index.SendRate, receiveRate = index.ReceiveRate;
      const known = (x) => (x !== x ? null : x);
      for (let i = 0; i + 4 < c.length; i += 5) {
        const id = c[i];
        const before = rowOfId.get(id);
        if (!before) continue;
        // Paused, the table shows the rows as they were: the live one becomes a copy. Live, the row changes where it is.
        const r = paused ? before.slice() : before;
        r[sent] = known(c[i + 1]); r[received] = known(c[i + 2]); r[sendRate] = known(c[i + 3]); r[receiveRate] = known(c[i + 4]);
        if (r !== before) { live.set(r[0], r); rowOfId.set(id, r); reshaped = true; }
      }
      for (const k of data.removes) {
        live.delete(k);
        const id = idOfKey.get(k);
        if (id !== undefined) { rowOfId.delete(id); idOfKey.delete(k); }
      }
      if (data.upserts.length > 0 || data.removes.length > 0) reshaped = true;
    }
  }
  function apply(data) {
    // The rows shown are the live ones, in the server's order; a frame that only moved counters changed them in place.
    const remade = reshaped;
    if (remade) { rows = Array.from(live.values()); reshaped = false; }
    haystack = null;
    lastTime = data.time;
    showStats(data.stats);
    if (remade) showChoices();
    showTalkers();
    showProcessNow();
    refresh();
    status();
  }
  function status(text, cls, title) {
    const s = $('status');
    if (s.title !== (title || '')) s.title = title || '';
    const c = 'status' + (cls ? ' ' + cls : paused ? '' : ' live');
    if (s.className !== c) s.className = c;
    if (text) { setText(s, text); return; }
    const t = lastTime ? clock(new Date(lastTime)) : '';
    setText(s, paused ? 'paused' + (waitingCount ? ' (' + waitingCount + ' new)' : '') : 'live ' + t);
  }

  let source = null;
  // A frame's text into the rows: parse, take, and (unless paused) show. A busy frame's counters come apart, in binary
  // (five doubles a row, as its "counters" would have them): fetched before the frame is taken, so frames are taken one at a
  // time, in order (see queue); one whose counters are gone from the server (the page fell behind) fails, and the page
  // takes the whole table again (resync).
  async function receive(kind, text) {
    let started = performance.now();
    const data = JSON.parse(text);
    let parseMs = performance.now() - started;
    if (data.binaryCounters) {
      let buffer = null;
      try {
        const response = await api('/api/counters?version=' + data.version);
        if (response.ok) buffer = await response.arrayBuffer();
      } catch (e) { buffer = null; } // the server stopped: the catching up finds out
      if (!buffer || buffer.byteLength !== data.binaryCounters * 5 * 8) throw new CountersGone(data.version);
      const at = performance.now();
      data.counters = new Float64Array(buffer);
      parseMs += performance.now() - at;
    }
    // User Timing: what one update costs the page's script (parse, filter, sort, draw), for the benchmark and DevTools,
    // and its stages: the text parsed, the rows taken, the page updated. The wait for the counters is not the script's.
    started = performance.now() - parseMs;
    const parsed = performance.now();
    take(kind, data);
    // Paused, the table holds still; the header's totals, the row count and the top talkers follow the samples.
    if (paused) { waiting = data; waitingCount++; showStats(data.stats); showTalkers(live.values()); showShown(); status(); return data; }
    const taken = performance.now();
    apply(data);
    const ended = performance.now();
    performance.measure('cm-update', { start: started, duration: ended - started });
    performance.measure('cm-parse', { start: started, duration: parseMs });
    performance.measure('cm-take', { start: parsed, end: taken });
    performance.measure('cm-apply', { start: taken, end: ended });
    if (performance.getEntriesByName('cm-update').length > 600)
      for (const m of ['cm-update', 'cm-parse', 'cm-take', 'cm-apply']) performance.clearMeasures(m);
    return data;
  }
  // The stream's frames, taken one after another; a stream replaced (resync) drops what its predecessor still had queued.
  // A frame whose counters could not be had starts the catching up; any other failure is the page's error, reported as such.
  class CountersGone extends Error { constructor(version) { super('the counters of frame ' + version + ' are gone'); } }
  let queue = Promise.resolve(), generation = 0;
  function enqueue(kind, text) {
    const mine = generation;
    queue = queue.then(() => (mine === generation ? receive(kind, text) : null)).catch((e) => {
      if (!(e instanceof CountersGone)) { setTimeout(() => { throw e; }); return; }
      if (mine === generation) resync();
    });
  }
  function resync() {
    generation++;
    if (source) source.close();
    status('catching up…', 'down');
    load().then(connect);
  }
  // The whole table comes by fetch (a browser takes one 3 MB response much faster than one 3 MB event), then the event
  // stream brings only what came after that version. Should the fetch fail, the stream starts with the table in full.
  async function start() {
    connect(await load());
    loadCharts();
  }
  // The whole table now; its version (0 when it could not be had: the stream then starts with it in full).
  async function load() {
    try {
      const response = await api('/api/snapshot');
      // Bytes, then one TextDecoder pass: response.text() took Chromium 100-200 ms longer on the 3 MB table (its text
      // resource decoder runs in pieces as the body arrives). The mark is for the benchmark and DevTools.
      const text = new TextDecoder().decode(await response.arrayBuffer());
      performance.mark('cm-snapshot-text');
      if (response.ok) return (await receive('snapshot', text)).version || 0;
    } catch (e) { /* the stream brings it */ }
    return 0;
  }
  function connect(after) {
    const mine = source = new EventSource('/api/events?key=' + encodeURIComponent(KEY) + (after > 0 ? '&after=' + after : ''));
    mine.addEventListener('snapshot', (e) => enqueue('snapshot', e.data));
    mine.addEventListener('delta', (e) => enqueue('delta', e.data));
    mine.addEventListener('error', () => {
      status('disconnected, retrying…', 'down');
      // A browser retries a stream that broke off, but not one that was answered with an error status: a dashboard
      // starting or stopping answers 503, and a page whose retry met that stayed disconnected for good. Such a stream is
      // started again here, with the whole table, unless the dashboard refuses this page (below).
      const givenUp = mine.readyState === EventSource.CLOSED;
      const again = () => { if (givenUp && source === mine) setTimeout(() => { if (source === mine) resync(); }, 2000); };
      // A dashboard started again on this port has a new token: this page's cookie gets 403 there for ever, and each retry
      // would count as a refused request. Asked once per failure: a 403 ends the retries and says what to do.
      api('/api/info').then((r) => {
        if (r.status !== 403) { again(); return; }
        mine.close();
        clearInterval(historyTimer); clearInterval(alertsTimer); // their requests would be refused too
        status('restarted: open its new URL', 'down',
          'The dashboard was started again with a new token: open the LaunchUrl that Start-ConnectionDashboard returned.');
      }).catch(again); // not answering: stopped (the browser goes on retrying a stream that broke off)
    });
  }
  // The chart library only once the rows are up: the table comes first.
  function loadCharts() {
    if (typeof uPlot === 'function') { scheduleHistory(); return; }
    const script = document.createElement('script');
    script.src = '/assets/uPlot.iife.min.js';
    script.addEventListener('load', scheduleHistory);
    script.addEventListener('error', () => { $('graph-note').textContent = 'graphs: the chart library did not load'; });
    document.head.appendChild(script);
  }

  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').setAttribute('aria-pressed', String(paused));
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    if (!paused && waiting) { const w = waiting; waiting = null; waitingCount = 0; apply(w); }
    status();
  });

  // ---- export -------------------------------------------------------------------------------------------------------
  async function exportView(format) {
    const response = await api('/api/export', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ format, keys: view.map(rowKey) }),
    });
    if (!response.ok) { status('export failed: HTTP ' + response.status, 'down'); return; }
    const blob = await response.blob();
    const disposition = response.headers.get('Content-Disposition') || '';
    const m = /filename="([^"]+)"/.exec(disposition);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : 'connections.' + format;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
  $('export-csv').addEventListener('click', () => exportView('csv'));
  $('export-json').addEventListener('click', () => exportView('json'));

  // ---- theme --------------------------------------------------------------------------------------------------------
  function setTheme(t) {
    document.documentElement.setAttribute('data-theme', t);
    try { localStorage.setItem('cm-theme', t); } catch (e) { /* storage off: the choice lasts this page */ }
  }
  let theme = null;
  try { theme = localStorage.getItem('cm-theme'); } catch (e) { theme = null; }
  if (theme !== 'light' && theme !== 'dark') theme = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  setTheme(theme);
  $('theme').addEventListener('click', () => {
    setTheme(document.documentElement.getAttribute('data-theme') === 'dark' ? 'light' : 'dark');
    loadHistory(true); // the graphs take their colours from the theme
  });

  // ---- history graphs (uPlot) --------------------------------------------------------------------------------------
  let range = '1h';
  const charts = {};
  let processName = null;
  let historyTimer = null;

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function chartWidth(el) { return Math.max(160, el.clientWidth || el.parentNode.clientWidth || 300); }
  // The time axis on the 24-hour clock of the table's cells (uPlot's default is 2:48pm and 12/3/26): uPlot's table of
  // tick formats — smallest step in seconds, the tick's format, then what a tick adds when the year, month, day, hour or
  // minute rolls over, and mode 1 (added below the tick).
  const TIME_TICKS = [
    [3600 * 24 * 365, '{YYYY}', null, null, null, null, null, null, 1],
    [3600 * 24 * 28, '{MMM}', '\n{YYYY}', null, null, null, null, null, 1],
    [3600 * 24, '{MMM} {D}', '\n{YYYY}', null, null, null, null, null, 1],
    [3600, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MMM} {D}', null, null, null, 1],
    [60, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MMM} {D}', null, null, null, 1],
    [1, ':{ss}', '\n{YYYY}-{MM}-{DD} {HH}:{mm}', null, '\n{MMM} {D} {HH}:{mm}', null, '\n{HH}:{mm}', null, 1],
  ];
  function chartOptions(el, series, rateAxis) {
    const fg = css('--fg'), grid = css('--line');
    return {
      width: chartWidth(el), height: 110,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      series: [{}].concat(series),
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, space: 90, values: TIME_TICKS },
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: rateAxis ? 70 : 56, space: 24,
          // Counts are whole numbers: no 2.5 sockets on the axis.
          values: rateAxis ? (u, vals) => vals.map((x) => (x == null ? '' : bytes(Math.round(x))))
            : (u, vals) => vals.map((x) => (x == null || !Number.isInteger(x) ? '' : x.toLocaleString())) },
      ],
    };
  }
  // A chart is made once per theme and then only given new data: a new uPlot every refresh would rebuild its elements and
  // make the browser lay out and paint them again.
  function draw1(id, series, data, rateAxis) {
    const el = $(id);
    const look = document.documentElement.getAttribute('data-theme');
    const chart = charts[id];
    if (chart && chart.look === look) {
      const width = chartWidth(el);
      if (chart.plot.width !== width) chart.plot.setSize({ width, height: 110 });
      chart.plot.setData(data);
      return;
    }
    if (chart) { chart.plot.destroy(); delete charts[id]; }
    el.replaceChildren();
    if (typeof uPlot !== 'function') return;
    charts[id] = { look, plot: new uPlot(chartOptions(el, series, rateAxis), data, el) };
  }
  // The series of the points' first n values, one array per column (a point's last value is its period in seconds: the
  // range's, or a longer roll-up's). A stretch with nothing recorded (the recorder was stopped) is a gap in the line, not a
  // straight line across it: after a step longer than two of the earlier point's periods a point of nulls goes in, where
  // uPlot breaks the line.
  function columnsOf(points, n) {
    const out = [];
    for (let i = 0; i < n; i++) out.push([]);
    points.forEach((p, k) => {
      const before = k > 0 ? points[k - 1] : null;
      const period = before ? before[before.length - 1] : 0;
      if (before && period > 0 && p[0] - before[0] > 2 * period) {
        out[0].push(before[0] + period);
        for (let i = 1; i < n; i++) out[i].push(null);
      }
      for (let i = 0; i < n; i++) out[i].push(p[i]);
    });
    return out;
  }
  // The timers' reloads that bring what the graphs show already draw nothing (a redraw lays out the history section);
  // force: draw anyway (another range, theme or process).
  let historyText = null, processText = null;
  async function loadHistory(force) {
    const asked = range;
    if (force) processText = null; // a failed forced load must not leave the process graphs in another theme or range
    let data;
    try {
      const response = await api('/api/history?range=' + encodeURIComponent(asked));
      const text = response.ok ? await response.text() : null;
      if (asked !== range) return; // another range was chosen meanwhile: its own load draws
      if (!response.ok) { historyText = null; setText($('graph-note'), 'history: HTTP ' + response.status); return; }
      if (!force && text === historyText) { if (processName) loadProcess(); return; }
      historyText = text;
      data = JSON.parse(text);
    } catch (e) { historyText = null; setText($('graph-note'), 'history: unreachable'); return; }
    const c = columnsOf(data.points, 5);
    draw1('g-tcp', [{ label: 'TCP', stroke: css('--established'), width: 1.5 }], [c[0], c[1]]);
    draw1('g-udp', [{ label: 'UDP', stroke: css('--udp'), width: 1.5 }], [c[0], c[2]]);
    draw1('g-bw', [{ label: 'out', stroke: css('--accent'), width: 1.5 }, { label: 'in', stroke: css('--listen'), width: 1.5 }], [c[0], c[3], c[4]], true);
    setText($('graph-note'), historyNote(data, 'the graphs fill'));
    $('graph-note').dataset.points = String(data.points.length);
    if (processName) loadProcess(force);
  }
  // What a history answer holds, in words: why the graphs are empty, or how many points they have.
  function historyNote(data, fill) {
    return data.missing === 'noFile'
      ? 'No history recorded yet: Start-ConnectionRecording (or the service) records it, and ' + fill + ' as it does.'
      : data.missing === 'unreadable' ? 'The history file cannot be read: ' + (data.error || '')
        : data.points.length + (data.points.length === 1 ? ' point' : ' points') + periods(data);
  }
  // How far apart the points are: the newest point's period (the range's, or a longer roll-up's — processes are kept per
  // minute at least), and the other periods of older points (the store keeps minutes after its first roll-up, hours after
  // its raw retention): ', every 10 s, older ones every 60 s'.
  function periods(data) {
    const pts = data.points;
    if (pts.length === 0) return ', every ' + data.periodSeconds + ' s';
    const newest = pts[pts.length - 1][pts[pts.length - 1].length - 1];
    const older = new Set();
    for (const p of pts) { const s = p[p.length - 1]; if (s !== newest) older.add(s); }
    return ', every ' + newest + ' s' + (older.size === 0 ? '' : ', older ones every ' + Array.from(older).sort((a, b) => a - b).join(' or ') + ' s');
  }
  async function loadProcess(force) {
    const name = processName, asked = range;
    let data;
    try {
      const response = await api('/api/history?range=' + encodeURIComponent(asked) + '&process=' + encodeURIComponent(name));
      if (!response.ok) return;
      const text = await response.text();
      if (name !== processName || asked !== range) return;
      if (!force && text === processText) return;
      processText = text;
      data = JSON.parse(text);
    } catch (e) { return; }
    const c = columnsOf(data.points, 4);
    draw1('g-process-conn', [{ label: 'connections', stroke: css('--established'), width: 1.5 }], [c[0], c[1]]);
    draw1('g-process-bw', [{ label: 'out', stroke: css('--accent'), width: 1.5 }, { label: 'in', stroke: css('--listen'), width: 1.5 }], [c[0], c[2], c[3]], true);
    $('g-process-conn').dataset.points = String(data.points.length);
    setText($('process-note'), historyNote(data, 'its graphs fill'));
  }
  function openProcess(name) {
    processName = name;
    $('process').hidden = false;
    $('process').scrollIntoView({ block: 'nearest' });
    $('process-close').focus();
    $('process-h').textContent = name;
    const select = $('f-process');
    if (Array.from(select.options).some((o) => o.value === name)) { select.value = name; scrollViewport(0); refresh(); }
    showProcessNow();
    loadProcess(true);
  }
  function showProcessNow() {
    if (!processName) return;
    const pi = index.ProcessName, si = index.SendRate, ri = index.ReceiveRate;
    let n = 0, rate = 0, pids = new Set();
    for (const r of rows) if (r[pi] === processName) { n++; rate += (r[si] || 0) + (r[ri] || 0); if (r[index.ProcessId] != null) pids.add(r[index.ProcessId]); }
    setText($('process-now'), n + ' connection' + (n === 1 ? '' : 's') + ' now, ' + bytes(Math.round(rate)) + '/s; PID ' + (Array.from(pids).join(', ') || '–'));
  }
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && processName && !$('block-dialog').open) $('process-close').click();
  });
  $('process-close').addEventListener('click', () => {
    processName = null;
    $('process').hidden = true;
    $('f-process').value = '';
    scrollViewport(0);
    refresh();
  });
  document.querySelectorAll('.ranges button').forEach((b) => b.addEventListener('click', () => {
    range = b.dataset.range;
    document.querySelectorAll('.ranges button').forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
    scheduleHistory();
  }));
  function scheduleHistory() {
    if (historyTimer) clearInterval(historyTimer);
    loadHistory(true);
    historyTimer = setInterval(loadHistory, range === '1h' ? 10000 : 60000);
  }
  window.addEventListener('resize', () => {
    // Charts out of sight (a closed process view) take their width when they are drawn next.
    for (const id of Object.keys(charts)) { const el = $(id); if (el.clientWidth) charts[id].plot.setSize({ width: chartWidth(el), height: 110 }); }
  });

  // ---- the Block action (when the module has a firewall to use) ---------------------------------------------------
  let info = { blocking: false, firewall: null };
  api('/api/info').then((r) => (r.ok ? r.json() : null)).then((d) => {
    if (!d) return;
    info = d;
    // Only the export formats config.yml allows (dashboard.export.enabled, formats) have a button.
    if (Array.isArray(d.exportFormats)) for (const f of ['csv', 'json']) $('export-' + f).hidden = !d.exportFormats.includes(f);
    if (selectedKey && !$('detail').hidden) showDetail(); // a detail opened before this arrived gets its Block button
  }).catch(() => {});
  const refusals = {
    Loopback: 'is a loopback address: blocking it breaks programs on this machine that talk to each other',
    DefaultGateway: 'is this machine\'s default gateway: blocking it cuts this machine off from every other network',
    LocalAddress: 'is an address of this machine: blocking it breaks traffic this machine sends to itself',
    RemotingClient: 'is the client of the remote session the dashboard was started in',
  };
  $('detail-block').addEventListener('click', () => {
    const address = $('detail-block').dataset.address;
    if (!address) return;
    setText($('block-address'), address);
    setText($('block-firewall'), info.firewall || 'host firewall');
    setText($('block-result'), '');
    $('block-dialog').showModal();
  });
  $('block-dialog').addEventListener('close', async () => {
    if ($('block-dialog').returnValue !== 'confirm') return;
    const address = $('block-address').textContent;
    const duration = $('block-duration').value;
    const body = { address, direction: $('block-direction').value, durationSeconds: duration ? Number(duration) : null, reason: $('block-reason').value };
    let text;
    try {
      const response = await api('/api/block', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const d = await response.json();
      if (response.ok) text = 'Blocked ' + d.blocked + ' (' + d.direction + ') ' + (d.expires ? 'until ' + stamp(new Date(d.expires)) : 'until removed') + ' in ' + d.firewall + '.';
      else if (d.refused) text = 'Not blocked: ' + d.target + ' ' + (refusals[d.refused] || 'is protected') + '. Block-ConnectionRemote -Force blocks it anyway.';
      else text = 'Not blocked: ' + (d.error || 'HTTP ' + response.status);
    } catch (e) { text = 'Not blocked: the dashboard did not answer.'; }
    setText($('block-result'), text);
  });

  // ---- alert rules ------------------------------------------------------------------------------------------------
  // Rebuilt only when the rules' state changed since the last look (every 5 s).
  let alertsText = null;
  async function loadAlerts() {
    let data;
    try {
      const response = await api('/api/alerts');
      if (!response.ok) return;
      const text = await response.text();
      if (text === alertsText) return;
      alertsText = text;
      data = JSON.parse(text);
    } catch (e) { return; }
    const ul = $('alerts');
    ul.replaceChildren();
    $('alerts-none').hidden = data.rules.length > 0;
    for (const r of data.rules) {
      const li = document.createElement('li');
      const name = document.createElement('div'); name.className = 'rule'; name.textContent = r.name + ' (' + r.kind + ')';
      const fired = document.createElement('div');
      fired.textContent = r.fired === 0 ? 'never fired' : 'fired ' + r.fired + '×, last ' + stamp(new Date(r.lastFired)) + (r.active ? '; ' + r.active + ' on now' : '');
      const delivery = document.createElement('div');
      delivery.textContent = 'delivered ' + r.delivered + ', failed ' + r.failed + (r.pending ? ', pending ' + r.pending : '') + (r.dropped ? ', dropped ' + r.dropped : '') +
        (r.lastError ? ' — ' + r.lastError : '');
      if (r.failed > 0 || r.actionErrors > 0) delivery.className = 'failing';
      li.append(name, fired, delivery);
      ul.appendChild(li);
    }
  }

  buildHeader();
  start();
  loadAlerts();
  const alertsTimer = setInterval(loadAlerts, 5000);
})();
