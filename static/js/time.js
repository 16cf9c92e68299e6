// One time display (alerting/web/timefmt.py does the same on the server): every
// <time datetime> shows a relative time ("3 min ago") and, on hover, the exact time in the
// person's timezone (<html data-timezone>, else the browser's). Elements htmx or the live
// WebSocket insert later are formatted as they arrive; relative times are refreshed.
(function () {
  'use strict';

  var root = document.documentElement;
  var zone = root.getAttribute('data-timezone') || undefined;
  var parts;
  function formatter(timeZone) {
    return new Intl.DateTimeFormat('en-GB', {
      timeZone: timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
      minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'shortOffset'
    });
  }
  try {
    parts = formatter(zone);
  } catch (e) { // an unknown zone: the browser's
    zone = undefined;
    parts = formatter(undefined);
  }

  // 2026-12-06 03:12:05 GMT+1 (the offset as the server writes it: alerting/web/timefmt.py)
  function exact(when) {
    var p = {};
    parts.formatToParts(when).forEach(function (part) { p[part.type] = part.value; });
    return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ':' +
      p.second + ' ' + p.timeZoneName;
  }

  function relative(when, now) {
    var seconds = (now - when) / 1000;
    var ahead = seconds < 0;
    seconds = Math.abs(seconds);
    if (seconds < 45) { return 'just now'; }
    var units = [[86400, 'd'], [3600, 'h'], [60, 'min']];
    var text = '';
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][0] || units[i][1] === 'min') {
        text = Math.max(1, Math.round(seconds / units[i][0])) + ' ' + units[i][1];
        break;
      }
    }
    return ahead ? 'in ' + text : text + ' ago';
  }

  function format(scope) {
    var now = Date.now();
    (scope || document).querySelectorAll('time[datetime]').forEach(function (el) {
      var when = new Date(el.getAttribute('datetime'));
      if (isNaN(when.getTime())) { return; }
      if (el.getAttribute('data-exact') !== null) {
        // A clock time ("suppressed until 03:12"): the date too when it is not today.
        var text = exact(when);
        el.title = text;
        el.textContent = text.slice(0, 10) === exact(new Date(now)).slice(0, 10)
          ? text.slice(11, 16) : text.slice(0, 16);
      } else {
        el.title = exact(when);
        el.textContent = relative(when, now);
      }
    });
  }

  window.alertingTime = { format: format, exact: exact, relative: relative, zone: zone };
  document.addEventListener('DOMContentLoaded', function () { format(document); });
  document.addEventListener('htmx:afterSettle', function (evt) { format(evt.target); });
  document.addEventListener('htmx:wsAfterMessage', function () { format(document); });
  window.setInterval(function () { format(document); }, 30000);

  // The account page offers the browser's zone for the person's setting.
  document.addEventListener('DOMContentLoaded', function () {
    var offer = document.getElementById('timezone-detected');
    if (!offer) { return; }
    var detected = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!detected) { return; }
    offer.hidden = false;
    offer.querySelector('.detected-name').textContent = detected;
    offer.querySelector('button').addEventListener('click', function () {
      document.getElementById('timezone').value = detected;
    });
  });
})();
