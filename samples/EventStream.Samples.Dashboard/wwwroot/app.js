// EventStream live dashboard: renders the snapshots streamed by GET /api/live (Server-Sent Events).
// Plain ES2020, no dependencies. All data goes into the page through textContent, never innerHTML:
// site names and URLs come from the posting websites and must not be trusted as markup.

const CHART_SECONDS = 60;          // width of the chart's time window
const SPIKE_RECENT_MS = 10_000;    // a site is "spiking" while it has an alert this recent
const DEAD_LETTERS_SHOWN = 5;      // latest dead letters listed under the count
const RECONNECT_DELAY_MS = 3_000;  // only used when the browser gives up reconnecting by itself

const $ = (id) => document.getElementById(id);
const el = {
  status: $('status'),
  updated: $('updated'),
  dashboard: $('dashboard'),
  usersOnline: $('users-online'),
  eventsPerSecond: $('events-per-second'),
  accepted: $('accepted'),
  late: $('late'),
  chart: $('chart'),
  sites: $('sites').tBodies[0],
  sitesEmpty: $('sites-empty'),
  topPages: $('top-pages').tBodies[0],
  topPagesEmpty: $('top-pages-empty'),
  alerts: $('alerts'),
  deadLetterCount: $('dead-letter-count'),
  deadLetters: $('dead-letters'),
  replay: $('replay'),
  replayResult: $('replay-result'),
  faultToggle: $('fault-toggle'),
  faultState: $('fault-state'),
  faultError: $('fault-error'),
};

// ---------------------------------------------------------------- formatting

const intFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** Whole number with thousands separators, e.g. 12,345. */
const fmtInt = (n) => intFormat.format(Number(n) || 0);
/** Number with at most one decimal and thousands separators, e.g. 1,500.5. */
const fmtDec = (n) => decFormat.format(Number(n) || 0);
/** Plain integer, no separators (for the elements tests read as numbers). */
const plainInt = (n) => String(Math.trunc(Number(n) || 0));

/** Local time as HH:MM:SS (24 h, independent of the browser locale). */
function fmtTime(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
}

/** Sets an element's text only when it changes (keeps live regions quiet and avoids needless layout). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Creates an element with a class and text. */
function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A table row from cells given as [text, className?]. */
function row(cells) {
  const tr = document.createElement('tr');
  for (const [text, className] of cells) tr.append(make('td', className, text));
  return tr;
}

// ---------------------------------------------------------------- connection status

function setStatus(text, state) {
  setText(el.status, text);
  el.status.classList.toggle('ok', state === 'ok');
  el.status.classList.toggle('reconnecting', state === 'reconnecting');
  // Dim the figures while they may be out of date.
  el.dashboard.classList.toggle('stale', state === 'reconnecting');
}

// ---------------------------------------------------------------- snapshot rendering

function render(snapshot) {
  const now = snapshot.time ?? Date.now();
  setText(el.updated, fmtTime(now));
  el.updated.dateTime = new Date(now).toISOString();

  setText(el.usersOnline, plainInt(snapshot.usersOnline));
  // Events admitted per second (the door's and the simulator's), not finishedPerSecond: the pipeline's own throughput
  // counts every item its stages finish, each event twice after the fan-out and every window firing.
  setText(el.eventsPerSecond, fmtDec(snapshot.admittedPerSecond));
  el.eventsPerSecond.title = `The pipeline's stages finish ${fmtDec(snapshot.finishedPerSecond)} items/s (each event twice: under its site and its page, plus window firings)`;
  setText(el.accepted, fmtInt(snapshot.accepted));
  setText(el.late, fmtInt(snapshot.late));

  addChartPoint(now, Number(snapshot.admittedPerSecond) || 0);
  renderSites(snapshot.sites ?? [], snapshot.alerts ?? [], now);
  renderTopPages(snapshot.topPages ?? []);
  renderAlerts(snapshot.alerts ?? []);
  renderDeadLetterCount(snapshot.deadLetters);
  renderFaultFromServer(Boolean(snapshot.fault));
}

function renderSites(sites, alerts, now) {
  // Sites with an alert from the last 10 s (measured on the server's clock, as alert times are).
  const spiking = new Set(alerts.filter((a) => now - a.at <= SPIKE_RECENT_MS).map((a) => a.site));
  el.sites.replaceChildren(...sites.map((s) => {
    const tr = row([
      [s.site, 'site'],
      [fmtInt(s.usersOnline), 'num'],
      [fmtInt(s.eventsPerSecond), 'num'],
      [fmtDec(s.baselinePerSecond), 'num'],
    ]);
    if (spiking.has(s.site)) {
      tr.classList.add('spiking');
      tr.title = `${s.site} is spiking`;
    }
    return tr;
  }));
  el.sitesEmpty.hidden = sites.length > 0;
}

function renderTopPages(pages) {
  el.topPages.replaceChildren(...pages.map((p, i) => {
    const tr = row([[String(i + 1), 'num rank'], [p.site, 'site'], ['', 'url'], [fmtInt(p.views), 'num']]);
    // Long URLs are cut with an ellipsis; the full URL stays in the text and the tooltip.
    const url = make('span', null, p.url);
    url.title = p.url;
    tr.cells[2].append(url);
    return tr;
  }));
  el.topPagesEmpty.hidden = pages.length > 0;
}

let lastAlertsKey = null;

function renderAlerts(alerts) {
  // Rebuild only when the alerts change, so the live region announces new alerts once.
  const key = JSON.stringify(alerts);
  if (key === lastAlertsKey) return;
  lastAlertsKey = key;

  if (alerts.length === 0) {
    el.alerts.replaceChildren(make('li', 'muted', 'No spikes'));
    return;
  }
  el.alerts.replaceChildren(...alerts.map((a) => {
    const li = make('li', 'alert');
    const time = make('time', 'alert-time', fmtTime(a.at));
    time.dateTime = new Date(a.at).toISOString();
    li.append(time, ' ', make('span', 'alert-message', a.message));
    return li;
  }));
}

// ---------------------------------------------------------------- chart (Canvas 2D)

/** Samples as { second, value }, oldest first, at most one per second. */
const points = [];

function addChartPoint(timeMs, value) {
  const second = Math.floor(timeMs / 1000);
  const last = points[points.length - 1];
  if (last && last.second === second) last.value = value; // e.g. the extra snapshot sent on reconnect
  else if (!last || second > last.second) points.push({ second, value });
  // Keep only the last 60 seconds.
  while (points.length && points[0].second <= second - CHART_SECONDS) points.shift();

  el.chart.setAttribute('aria-label', `Events admitted per second over the last 60 seconds: now ${fmtDec(value)}, peak ${fmtDec(Math.max(...points.map((p) => p.value)))}`);
  drawChart();
}

/** Rounds up to 1, 2 or 5 × a power of ten, so the axis labels stay round. */
function niceMax(value) {
  if (!(value > 0)) return 10;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value);
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function drawChart() {
  const canvas = el.chart;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;

  // High-DPI: size the backing store in device pixels, draw in CSS pixels.
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const colors = { line: cssVar('--accent'), grid: cssVar('--border'), text: cssVar('--muted') };
  const pad = { left: 48, right: 12, top: 12, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;

  const newest = points.length ? points[points.length - 1].second : 0;
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)) * 1.05);
  const x = (second) => pad.left + ((second - (newest - CHART_SECONDS + 1)) / (CHART_SECONDS - 1)) * plotW;
  const y = (value) => pad.top + plotH - (value / max) * plotH;

  // Horizontal grid lines with their values: 0, half, max.
  ctx.font = `12px ${getComputedStyle(canvas).fontFamily}`;
  ctx.lineWidth = 1;
  ctx.strokeStyle = colors.grid;
  ctx.fillStyle = colors.text;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const value of [0, max / 2, max]) {
    const gy = Math.round(y(value)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.left, gy);
    ctx.lineTo(width - pad.right, gy);
    ctx.stroke();
    ctx.fillText(fmtDec(value), pad.left - 8, gy);
  }

  // Time axis: just the two ends.
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText('60 s ago', pad.left, height - pad.bottom + 6);
  ctx.textAlign = 'right';
  ctx.fillText('now', width - pad.right, height - pad.bottom + 6);

  // The series, split where seconds are missing (e.g. while reconnecting) so gaps show as gaps.
  const runs = [];
  for (const p of points) {
    const run = runs[runs.length - 1];
    if (run && p.second - run[run.length - 1].second <= 2) run.push(p);
    else runs.push([p]);
  }

  const fill = ctx.createLinearGradient(0, pad.top, 0, pad.top + plotH);
  fill.addColorStop(0, withAlpha(colors.line, 0.25));
  fill.addColorStop(1, withAlpha(colors.line, 0.02));

  ctx.lineWidth = 2;
  ctx.lineJoin = 'round';
  ctx.strokeStyle = colors.line;
  for (const run of runs) {
    if (run.length === 1) {
      ctx.fillStyle = colors.line;
      ctx.beginPath();
      ctx.arc(x(run[0].second), y(run[0].value), 2.5, 0, Math.PI * 2);
      ctx.fill();
      continue;
    }
    const path = new Path2D();
    run.forEach((p, i) => (i ? path.lineTo(x(p.second), y(p.value)) : path.moveTo(x(p.second), y(p.value))));

    const area = new Path2D(path);
    area.lineTo(x(run[run.length - 1].second), y(0));
    area.lineTo(x(run[0].second), y(0));
    area.closePath();
    ctx.fillStyle = fill;
    ctx.fill(area);
    ctx.stroke(path);
  }
}

/** "#2563eb" + alpha → "rgba(...)"; other colour syntaxes are returned unchanged. */
function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  const [r, g, b] = m.slice(1).map((h) => parseInt(h, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

// Redraw when the canvas changes size (window resize, layout change); new data redraws it anyway.
new ResizeObserver(() => drawChart()).observe(el.chart);

// ---------------------------------------------------------------- HTTP helpers

// The API key (the server's Dashboard:ApiKey, or the one it logged at start-up) for the dead letters, Replay and the
// fault switch: asked for once, then kept for this tab only (sessionStorage) and sent as X-Api-Key. A 401 forgets it,
// so the next admin request asks again. Cancelling the prompt leaves the admin parts unanswered (401), the figures live.
const API_KEY_ITEM = 'dashboardApiKey';
let apiKeyAsked = false;

function apiKey() {
  let key = sessionStorage.getItem(API_KEY_ITEM);
  if (!key && !apiKeyAsked) {
    apiKeyAsked = true;
    key = (window.prompt('API key for the dead letters, Replay and the fault switch (Dashboard:ApiKey, or the one the server logged):') ?? '').trim();
    if (key) sessionStorage.setItem(API_KEY_ITEM, key);
  }
  return key || null;
}

/** Request headers: JSON, and the API key when there is one. */
function headers(extra = {}) {
  const key = apiKey();
  return { Accept: 'application/json', ...(key ? { 'X-Api-Key': key } : {}), ...extra };
}

/** fetch() that throws on a non-2xx status and returns the JSON body (null for 204). */
async function request(url, options = {}) {
  const response = await fetch(url, { headers: headers(), ...options });
  if (response.status === 401) {
    sessionStorage.removeItem(API_KEY_ITEM); // wrong or missing: ask again next time
    apiKeyAsked = false;
  }
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`.trim());
  return response.status === 204 ? null : response.json();
}

function postJson(url, body) {
  return request(url, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// ---------------------------------------------------------------- dead letters

let knownDeadLetters = null; // count the list was last fetched for (set once a fetch succeeded)
let fetchingDeadLetters = null; // count a fetch is under way for
let deadLettersRequest = 0;  // only the newest request's answer is shown

function renderDeadLetterCount(count) {
  setText(el.deadLetterCount, plainInt(count));
  // Fetch the list only when the count changed, not every second; a failed fetch is tried again on the next message.
  if (count !== knownDeadLetters && count !== fetchingDeadLetters) {
    fetchingDeadLetters = count;
    refreshDeadLetters()
      .catch((error) => console.warn('Could not load dead letters:', error))
      .finally(() => { if (fetchingDeadLetters === count) fetchingDeadLetters = null; });
  }
}

async function refreshDeadLetters() {
  const id = ++deadLettersRequest;
  const data = await request('/api/dead-letters');
  if (id !== deadLettersRequest) return;

  const items = data.entries ?? [];
  const count = data.count ?? items.length;
  knownDeadLetters = count;
  setText(el.deadLetterCount, plainInt(count));

  // Latest first: by last failure when the server gives it, otherwise as listed.
  const latest = [...items]
    .sort((a, b) => (Date.parse(b.lastFailure) || 0) - (Date.parse(a.lastFailure) || 0))
    .slice(0, DEAD_LETTERS_SHOWN);
  el.deadLetters.replaceChildren(...latest.map((d) => {
    const li = make('li', 'dead-letter');
    li.append(make('span', 'stage', d.stage ?? '?'), ' ', make('span', 'error-text', (d.exceptionType ? `${d.exceptionType}: ` : '') + (d.message ?? d.reason ?? '')));
    const when = Date.parse(d.lastFailure);
    li.title = [
      d.reason && `Reason: ${d.reason}`,
      d.attempts != null && `Attempts: ${d.attempts}`,
      when && `Last failure: ${fmtTime(when)}`,
    ].filter(Boolean).join(' · ');
    return li;
  }));
}

el.replay.addEventListener('click', async () => {
  el.replay.disabled = true;
  el.replayResult.classList.remove('error');
  setText(el.replayResult, 'Replaying…');
  try {
    const r = await postJson('/api/dead-letters/replay');
    let text = `${fmtInt(r.replayed)} replayed, ${fmtInt(r.failedAgain)} failed again`;
    if (r.skipped) text += `, ${fmtInt(r.skipped)} skipped`;
    setText(el.replayResult, text);
    await refreshDeadLetters();
  } catch (error) {
    el.replayResult.classList.add('error');
    setText(el.replayResult, `Replay failed: ${error.message}`);
  } finally {
    el.replay.disabled = false;
  }
});

// ---------------------------------------------------------------- demo fault switch

let fault = false;
// Right after a switch, snapshots already on their way still carry the old state: ignore those for a moment.
let faultOverride = null; // { value, until }

function showFault(value) {
  fault = value;
  setText(el.faultToggle, value ? 'Fix geo stage' : 'Break geo stage');
  el.faultToggle.dataset.fault = String(value);
  setText(el.faultState, value ? 'failing' : 'healthy');
  el.faultState.classList.toggle('failing', value);
}

function renderFaultFromServer(value) {
  if (faultOverride && value !== faultOverride.value && Date.now() < faultOverride.until) return;
  faultOverride = null;
  showFault(value);
}

el.faultToggle.addEventListener('click', async () => {
  const enabled = !fault;
  el.faultToggle.disabled = true;
  el.faultError.hidden = true;
  try {
    await postJson('/api/fault', { enabled });
    faultOverride = { value: enabled, until: Date.now() + 3_000 };
    showFault(enabled);
  } catch (error) {
    el.faultError.textContent = `Could not switch the fault: ${error.message}`;
    el.faultError.hidden = false;
  } finally {
    el.faultToggle.disabled = false;
  }
});

// ---------------------------------------------------------------- live stream

function connect() {
  const source = new EventSource('/api/live');

  source.onmessage = (event) => {
    let snapshot;
    try {
      snapshot = JSON.parse(event.data);
    } catch (error) {
      console.warn('Ignoring a malformed snapshot:', error);
      return;
    }
    setStatus('live', 'ok');
    render(snapshot);
  };

  source.onerror = () => {
    setStatus('reconnecting…', 'reconnecting');
    // EventSource retries by itself, except after an HTTP error or a wrong content type: then retry here.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, RECONNECT_DELAY_MS);
    }
  };
}

showFault(false);
connect();
