// "Notify me on this device" on the live page: register the service worker (/sw.js, scope
// /), ask for the notification permission, subscribe with the app's VAPID public key, and
// post the subscription to the app for the logged-in user (docs/webpush.md).
(function () {
  'use strict';

  var box = document.getElementById('web-push');
  if (!box || !('serviceWorker' in navigator) || !('PushManager' in window)) { return; }
  var button = document.getElementById('web-push-button');
  var status = document.getElementById('web-push-status');
  box.hidden = false;

  function say(text) { status.textContent = text; }

  // base64url (the VAPID key as served) -> the bytes pushManager.subscribe takes.
  function keyBytes(text) {
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    b64 += '===='.slice((b64.length % 4) || 4);
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function csrfToken() {
    var headers = JSON.parse(document.body.getAttribute('hx-headers') || '{}');
    return headers['X-CSRFToken'] || '';
  }

  function deviceLabel() {
    var ua = navigator.userAgent;
    var browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox'
      : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
    var system = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
      : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows'
      : /Linux/.test(ua) ? 'Linux' : 'unknown system';
    return browser + ' on ' + system;
  }

  function register() {
    return navigator.serviceWorker.register(box.getAttribute('data-worker-url'), { scope: '/' })
      .then(function () { return navigator.serviceWorker.ready; });
  }

  function save(subscription) {
    var body = subscription.toJSON();
    body.label = deviceLabel();
    return fetch(box.getAttribute('data-subscribe-url'), {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json',
                 'X-CSRFToken': csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (error) { throw new Error(error.message); });
      }
      return response.json();
    });
  }

  function subscribe() {
    button.disabled = true;
    say('Asking for permission…');
    Notification.requestPermission().then(function (permission) {
      if (permission !== 'granted') { throw new Error('notifications are not allowed'); }
      say('Subscribing…');
      return register();
    }).then(function (registration) {
      return registration.pushManager.getSubscription().then(function (existing) {
        return existing || registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(box.getAttribute('data-vapid-key'))
        });
      });
    }).then(save).then(function (saved) {
      say('This device gets alerts (' + saved.label + ').');
    }).catch(function (error) {
      say('Not subscribed: ' + error.message);
    }).then(function () { button.disabled = false; });
  }

  button.addEventListener('click', subscribe);
  // The worker is registered on every visit, so a new version of it is picked up.
  register().then(function (registration) {
    box.setAttribute('data-worker', 'ready');
    return registration.pushManager.getSubscription();
  }).then(function (existing) {
    if (existing) { say('This device gets alerts.'); }
  }).catch(function (error) { say('Web push unavailable: ' + error.message); });
}());
