// The live page: connection indicator, resume-after-reconnect, unacknowledged count in the
// title, a cap on rows, the opt-in sound, the URL's filter applied to pushed rows, repeats
// folded into one expandable row, and the undo toast. htmx and its ws extension do the rest:
// every message from /ws/events is an out-of-band fragment swapped into this page; times are
// formatted by time.js.
(function () {
  'use strict';

  var MAX_ROWS = 200;
  var LOUD = { critical: true, high: true };
  var RECONNECTING = [1006, 1011, 1012, 1013]; // the codes the ws extension retries on
  var SOUND_KEY = 'alerting.live.sound';
  var REPEAT_WINDOW_MS = 10 * 60 * 1000; // repeats closer than this to the next fold together

  var root = document.getElementById('live');
  if (!root || !window.htmx) { return; }
  var list = document.getElementById('alert-list');
  var status = document.getElementById('live-status');
  var soundToggle = document.getElementById('sound-toggle');
  var baseTitle = document.title;
  var audio = null;
  var lastBeep = 0;

  // The newest alert this page holds: a reconnect asks for everything after it.
  function lastSeenId() {
    var max = Number(root.getAttribute('data-last-id')) || 0;
    list.querySelectorAll('[data-alert-id]').forEach(function (row) {
      max = Math.max(max, Number(row.getAttribute('data-alert-id')) || 0);
    });
    return max;
  }

  // The extension reuses the URL it started with; give each (re)connect the current cursor.
  htmx.createWebSocket = function (url) {
    var target = new URL(url, window.location.href);
    target.searchParams.set('last_id', String(lastSeenId()));
    var socket = new WebSocket(target.toString(), []);
    socket.binaryType = htmx.config.wsBinaryType;
    return socket;
  };

  function showStatus(state, text) {
    status.className = 'live-status is-' + state;
    status.textContent = text;
  }

  function updateTitle() {
    var counter = document.getElementById('unacked-count');
    var count = counter ? Number(counter.textContent) || 0 : 0;
    document.title = count > 0 ? '(' + count + ') ' + baseTitle : baseTitle;
  }

  // The page's filter (its URL's chips) holds for rows pushed after it loaded too.
  var filter = {
    severity: root.getAttribute('data-severity'),
    camera: root.getAttribute('data-camera'),
    hideLow: root.getAttribute('data-hide-low') === '1'
  };

  function applyFilter() {
    list.querySelectorAll('.alert').forEach(function (row) {
      var severity = row.getAttribute('data-severity');
      var out = (filter.severity && severity !== filter.severity) ||
        (filter.camera && row.getAttribute('data-camera') !== filter.camera) ||
        (filter.hideLow && severity === 'low');
      row.classList.toggle('is-filtered-out', Boolean(out));
    });
  }

  // Repeats: rows of the same rule, camera and object, each within REPEAT_WINDOW_MS of the
  // next newer one, fold under the newest with an "x5" button that shows them. The alerts of
  // one notification group (data-group "group:<id>") fold however far apart they are: the
  // group is notified as one.
  var expanded = {};

  function groupRepeats() {
    var heads = {};
    var rows = list.querySelectorAll('.alert:not(.is-filtered-out):not(.status-dismissed)');
    list.querySelectorAll('.alert').forEach(function (row) {
      row.classList.remove('is-repeat', 'is-shown');
      var slot = row.querySelector('.repeat-slot');
      if (slot) { slot.textContent = ''; }
    });
    rows.forEach(function (row) {
      var key = row.getAttribute('data-group');
      var when = Date.parse(row.getAttribute('data-time'));
      var head = heads[key];
      if (head && (key.indexOf('group:') === 0 || head.last - when <= REPEAT_WINDOW_MS)) {
        head.members.push(row);
        head.last = when;
        row.classList.add('is-repeat');
        if (expanded[head.row.id]) { row.classList.add('is-shown'); }
      } else {
        heads[key] = { row: row, last: when, members: [] };
      }
    });
    Object.keys(heads).forEach(function (key) {
      var head = heads[key];
      if (!head.members.length) { return; }
      var slot = head.row.querySelector('.repeat-slot');
      if (!slot) { return; }
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'repeat-toggle';
      button.textContent = '×' + (head.members.length + 1);
      button.setAttribute('aria-expanded', expanded[head.row.id] ? 'true' : 'false');
      button.setAttribute('aria-label', (head.members.length + 1) + ' alerts like this: ' +
        (expanded[head.row.id] ? 'hide' : 'show') + ' the repeats');
      button.addEventListener('click', function () {
        expanded[head.row.id] = !expanded[head.row.id];
        groupRepeats();
      });
      slot.appendChild(button);
    });
  }

  // The undo toast after a dismissal: gone after a few seconds, or once Undo is clicked.
  var toastTimer = null;

  function armToast() {
    var toast = document.getElementById('toast');
    if (!toast || !toast.children.length || toast.getAttribute('data-armed')) { return; }
    toast.setAttribute('data-armed', '1');
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { clearToast(); },
      Number(toast.getAttribute('data-expires')) || 6000);
  }

  function clearToast() {
    var toast = document.getElementById('toast');
    if (toast) { toast.textContent = ''; toast.removeAttribute('data-armed'); }
  }

  function refresh() {
    applyFilter();
    groupRepeats();
  }

  function trimRows() {
    while (list.children.length > MAX_ROWS) { list.removeChild(list.lastElementChild); }
  }

  function beep(critical) {
    if (!audio) { return; }
    var now = audio.currentTime;
    var pulses = critical ? 2 : 1;
    for (var i = 0; i < pulses; i++) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = critical ? 988 : 784;
      gain.gain.setValueAtTime(0.0001, now + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.25 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.25 + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.25);
      osc.stop(now + i * 0.25 + 0.22);
    }
  }

  // A rule's own sound (static/sounds/<name>.wav, made by tools/make_sounds.py).
  function play(name) {
    var clip = new Audio(root.getAttribute('data-sounds') + name + '.wav');
    clip.setAttribute('data-sound-playing', name);
    root.setAttribute('data-last-sound', name);
    var started = clip.play();
    if (started && started.catch) { started.catch(function () { /* autoplay refused */ }); }
  }

  // A silenced alert arrives greyed and quiet: it is not announced with a sound. A rule's
  // sound decides: "none" is quiet, "chime" and "alarm" play that sound (the alarm winning),
  // "default" beeps for high and critical only.
  function announceNewRows() {
    var loud = null;
    var clip = null;
    list.querySelectorAll('.alert.is-new:not([data-announced]):not(.status-silenced):not(.is-filtered-out)').forEach(function (row) {
      row.setAttribute('data-announced', '');
      var sound = row.getAttribute('data-sound') || 'default';
      var severity = row.getAttribute('data-severity');
      if (sound === 'alarm' || (sound === 'chime' && clip !== 'alarm')) { clip = sound; }
      if (sound === 'default' && LOUD[severity] && loud !== 'critical') { loud = severity; }
    });
    // One sound per burst, at most one a second, however many alerts arrive at once.
    if ((clip || loud) && soundToggle.checked && Date.now() - lastBeep > 1000) {
      lastBeep = Date.now();
      if (clip) { play(clip); } else { beep(loud === 'critical'); }
    }
  }

  function enableSound(on) {
    soundToggle.checked = on;
    try { window.localStorage.setItem(SOUND_KEY, on ? '1' : ''); } catch (e) { /* private */ }
    if (on && !audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    if (on && audio && audio.state === 'suspended') { audio.resume(); }
  }

  soundToggle.addEventListener('change', function () { enableSound(soundToggle.checked); });
  try {
    // Browsers start audio only after a click; a remembered choice waits for the first one.
    if (window.localStorage.getItem(SOUND_KEY)) {
      soundToggle.checked = true;
      document.addEventListener('click', function () { enableSound(soundToggle.checked); },
        { once: true });
    }
  } catch (e) { /* storage unavailable */ }

  document.body.addEventListener('htmx:wsConnecting', function () {
    if (!status.classList.contains('is-reconnecting')) { showStatus('connecting', 'Connecting…'); }
  });
  document.body.addEventListener('htmx:wsOpen', function () { showStatus('live', 'Live'); });
  document.body.addEventListener('htmx:wsClose', function (evt) {
    var code = evt.detail && evt.detail.event ? evt.detail.event.code : 0;
    if (RECONNECTING.indexOf(code) >= 0) {
      showStatus('reconnecting', 'Reconnecting…');
    } else {
      showStatus('offline', 'Disconnected: reload the page');
    }
  });
  document.body.addEventListener('htmx:wsAfterMessage', function () {
    trimRows();
    refresh();
    announceNewRows();
    updateTitle();
  });
  document.body.addEventListener('htmx:afterSettle', function () { refresh(); armToast(); });
  document.body.addEventListener('htmx:afterRequest', function (evt) {
    if (evt.detail.elt && evt.detail.elt.classList && evt.detail.elt.classList.contains('undo')) {
      clearToast();
    }
  });

  refresh();
  updateTitle();
})();
