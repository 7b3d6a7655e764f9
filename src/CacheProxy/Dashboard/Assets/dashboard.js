// The live dashboard: renders each "stats" event of dashboard/events (the JSON of GET /stats) with textContent only.
'use strict';
(() => {
  const $ = id => document.getElementById(id);
  const history = [];

  const number = (value, digits = 0) => value == null ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const percent = value => value == null ? '–' : (value * 100).toFixed(1) + ' %';
  const ms = value => value == null ? '–' : (value < 10 ? value.toFixed(2) : value.toFixed(0)) + ' ms';
  const bytes = value => {
    if (value == null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(value) >= 1024 && i < units.length - 1) { value /= 1024; i++; }
    return (i === 0 ? value.toFixed(0) : value.toFixed(1)) + ' ' + units[i];
  };
  const perSecond = (value, seconds) => seconds > 0 ? bytes(value / seconds) + '/s' : '–';
  const set = (id, text) => { $(id).textContent = text; };
  const badge = (id, text, kind) => { const el = $(id); el.textContent = text; el.className = 'badge ' + kind; };

  function row(cells, attributes) {
    const tr = document.createElement('tr');
    for (const [name, value] of Object.entries(attributes || {})) tr.setAttribute(name, value);
    for (const cell of cells) { const td = document.createElement('td'); td.textContent = cell; tr.appendChild(td); }
    return tr;
  }

  function fill(tableId, rows, columns, empty) {
    const body = document.querySelector('#' + tableId + ' tbody');
    body.replaceChildren(...rows);
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = columns; td.className = 'empty'; td.textContent = empty;
      tr.appendChild(td); body.appendChild(tr);
    }
  }

  function spark(value) {
    history.push(value);
    if (history.length > 60) history.shift();
    const canvas = $('spark');
    const ctx = canvas.getContext('2d');
    const max = Math.max(1, ...history);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--accent');
    ctx.lineWidth = 2;
    ctx.beginPath();
    history.forEach((v, i) => {
      const x = history.length === 1 ? 0 : i * (canvas.width - 2) / (history.length - 1) + 1;
      const y = canvas.height - 2 - (v / max) * (canvas.height - 4);
      i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y);
    });
    ctx.stroke();
  }

  function render(s) {
    const all = s.all;
    const seconds = s.windowSeconds;
    set('updated', new Date(s.time).toLocaleTimeString());
    $('updated').dateTime = s.time;
    set('window', number(seconds, 0));
    set('rps', number(all.requestsPerSecond, 1));
    spark(all.requestsPerSecond);
    set('hit-ratio', percent(all.hitRatio));
    set('stale', number(all.stale));
    set('errors', number(all.errors));
    set('errors-total', number(s.totals.errors));
    set('origin-p50', ms(all.originP50Ms));
    set('origin-p99', ms(all.originP99Ms));
    set('served', perSecond(all.servedBytes, seconds));
    set('served-total', bytes(s.totals.servedBytes));
    set('fetched', perSecond(all.fetchedBytes, seconds));
    set('offload', percent(all.byteOffload));
    set('compression-saved', bytes(s.totals.compressionSavedBytes));

    const memory = s.memory;
    set('memory', bytes(memory.bytes));
    set('memory-limit', bytes(memory.limit));
    $('memory-fill').style.width = (memory.limit > 0 ? Math.min(100, memory.bytes * 100 / memory.limit) : 0) + '%';
    set('memory-entries', number(memory.entries));
    set('evictions', number(memory.evictions));
    set('evictions-window', number(memory.evictionsInWindow));
    set('tier-hit-ratio', percent(memory.hitRatio));
    set('rejections', number(memory.rejections));
    set('rejections-window', number(memory.rejectionsInWindow));
    set('refresh-started', number(memory.refreshAhead.started));
    set('refresh-window', number(memory.refreshAhead.startedInWindow));
    set('refresh-skipped', number(memory.refreshAhead.skipped));
    set('refresh-wasted', number(memory.refreshAhead.wasted));

    if (s.redis) {
      set('redis', s.redis.circuit);
      set('redis-connection', 'circuit; ' + (s.redis.connected ? 'connected' : 'not connected'));
    } else {
      set('redis', 'none');
      set('redis-connection', 'not configured: the memory tier alone');
    }
    const m = s.maintenance;
    badge('maintenance', m && m.enabled ? 'maintenance: on (' + m.source + ')' : 'maintenance: off', m && m.enabled ? 'warn' : 'ok');
    $('draining').className = s.draining ? 'badge bad' : 'badge hidden';

    fill('routes', s.routes.map(r => {
      const f = r.figures;
      return row([r.route || '(none)', number(f.requestsPerSecond, 1), percent(f.hitRatio), number(f.stale), number(f.errors),
        ms(f.originP50Ms), ms(f.originP99Ms), perSecond(f.servedBytes, seconds), perSecond(f.fetchedBytes, seconds)], { 'data-route': r.route });
    }), 9, 'no requests yet');
    fill('purges', s.recentPurges.map(p => row([new Date(p.time).toLocaleTimeString(), p.caller, number(p.urls), number(p.tags),
      number(p.prefixes), p.soft ? 'yes' : 'no', number(p.removedHere), p.published === null ? 'no other instance' : p.published ? 'yes' : 'NO'])), 8, 'no purges yet');
    const cdn = s.cdn;
    set('cdn-summary', cdn ? cdn.providers.join(', ') + ' · outbox ' + cdn.outbox + ' · waiting ' + number(cdn.pending) + ' · dead letters ' +
      number(cdn.failed) + (cdn.more ? ' (more)' : '') : '(no CDN configured)');
    fill('cdn', cdn ? cdn.latest.flatMap(f => f.providers.map(d => row([f.id, new Date(f.created).toLocaleTimeString(), d.provider, d.state,
      number(d.attempts), d.nextAttempt ? new Date(d.nextAttempt).toLocaleTimeString() : '–', d.detail || '']))) : [], 7,
      cdn ? 'nothing waiting, no dead letters' : 'purges are not forwarded');
  }

  function connect() {
    const events = new EventSource('dashboard/events');
    events.addEventListener('open', () => badge('connection', 'live', 'ok'));
    events.addEventListener('stats', e => render(JSON.parse(e.data)));
    // The browser retries a dropped stream by itself, but not a refused one (a rotated key, a stopped gateway).
    events.addEventListener('error', () => events.readyState === EventSource.CLOSED
      ? badge('connection', 'disconnected: reload the page', 'bad')
      : badge('connection', 'reconnecting…', 'bad'));
  }

  connect();
})();
