// The service worker (served at /sw.js, scope /): shows each web push as a notification
// with the alert's snapshot, its action buttons and the badge; a click opens (or focuses)
// the alert's page, or POSTs to an action's url when the action says so (a signed action
// link: acknowledge, snooze) and shows what it did. The payload is built by
// alerting/notify/webpush.py.
'use strict';

var BADGE = '/icons/icon-96.png';
var ICON = '/icons/icon-192.png';

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

// The notification a payload makes: title and options (kept whole in `data` for the click).
function notificationFor(payload) {
  var actions = (payload.actions || []).slice(0, 2);  // browsers show at most two
  var options = {
    body: payload.body || '',
    tag: payload.tag || undefined,
    renotify: Boolean(payload.tag),
    timestamp: payload.timestamp || Date.now(),
    icon: ICON,
    badge: BADGE,
    requireInteraction: payload.severity === 'critical' || payload.priority === 'urgent',
    data: { url: payload.url || '/live', actions: actions, sound: payload.sound || null,
            alertId: payload.alert_id },
    actions: actions.map(function (a) { return { action: a.action, title: a.title }; })
  };
  if (payload.snapshot_url) { options.image = payload.snapshot_url; }
  // The rule's sound: `none` is a silent notification; any other lets the device sound it
  // (a notification cannot carry a sound file of its own).
  options.silent = payload.sound === 'none';
  return { title: payload.title || 'Alert', options: options };
}

function show(payload) {
  var made = notificationFor(payload);
  return self.registration.showNotification(made.title, made.options);
}

self.addEventListener('push', function (event) {
  var payload;
  try {
    payload = event.data ? event.data.json() : {};
  } catch (error) {
    payload = { title: 'Alert', body: event.data ? event.data.text() : '' };
  }
  event.waitUntil(show(payload));
});

// Focus a window of the app already at `url`, else open one.
function openPage(url) {
  var target = new URL(url, self.location.origin).href;
  return self.clients.matchAll({ type: 'window', includeUncontrolled: true })
    .then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (windows[i].url === target && 'focus' in windows[i]) { return windows[i].focus(); }
      }
      return self.clients.openWindow(target);
    });
}

// POST an action link (the token is the credential) and show its answer in place of the
// alert's notification: what was done, or why nothing was (expired, already used).
function act(chosen, data) {
  return fetch(chosen.url, { method: 'POST', credentials: 'same-origin',
                             headers: { Accept: 'application/json' } })
    .then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { ok: response.ok, message: answer.message ||
                 (response.ok ? 'Done.' : 'The action failed (' + response.status + ').') };
      });
    }, function () { return { ok: false, message: 'The action could not reach the server.' }; })
    .then(function (result) {
      return self.registration.showNotification(result.ok ? 'Done' : 'Not done', {
        body: result.message, tag: data.alertId ? 'alert-' + data.alertId : undefined,
        icon: ICON, badge: BADGE, data: { url: data.url || '/live', actions: [], result: result }
      });
    });
}

self.addEventListener('notificationclick', function (event) {
  var data = event.notification.data || {};
  event.notification.close();
  var chosen = (data.actions || []).filter(function (a) { return a.action === event.action; })[0];
  if (chosen && chosen.method === 'POST') {
    event.waitUntil(act(chosen, data));
    return;
  }
  event.waitUntil(openPage(chosen ? chosen.url : data.url || '/live'));
});
