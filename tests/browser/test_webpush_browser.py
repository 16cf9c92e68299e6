"""Web push in Debian's Chromium: the service worker registers at scope /, the manifest and
its icons load, "Notify me on this device" subscribes with the app's VAPID key and posts the
subscription, the server's alert reaches a push service on loopback (VAPID verified, payload
decrypted with the keys made here), and the worker's push handler shows that payload as a
notification with its actions, image and badge.

Chromium's own pushManager.subscribe needs its vendor's push service, which no machine here
reaches: it is the one part stood in for (an init script answers subscribe with a
subscription at the loopback push service). docs/webpush.md says what is verified and how.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.browser import shot
from tests.support.webpush import start_push_service, unb64url

expect = pytest.importorskip("playwright.sync_api").expect

# Replaces the browser's push subscription with one at the loopback push service, and
# keeps what the page asked subscribe for.
STAND_IN = """
(subscription => {
  PushManager.prototype.getSubscription = function () { return Promise.resolve(null); };
  PushManager.prototype.subscribe = function (options) {
    window.__subscribed = {
      userVisibleOnly: options.userVisibleOnly,
      key: Array.from(new Uint8Array(options.applicationServerKey))
    };
    return Promise.resolve({ toJSON: function () { return subscription; } });
  };
})(%s);
"""

# Closes what is shown first (the answer of an earlier click has the same tag), then hands
# the worker's push handler the payload and waits for the push's own notification (one with
# actions, not an answer), for up to 20 s: Chromium shows a notification only once its image,
# icon and badge have loaded from the server, and 5 s once ran out in CI for no known reason.
# The handler's showNotification is watched, so when nothing is shown the answer says how
# that call ended.
SHOW_PUSH = """async (payload) => {
  for (const earlier of await self.registration.getNotifications()) { earlier.close(); }
  const registration = self.registration;
  let outcome = 'showNotification was not called';
  registration.showNotification = function (...args) {
    outcome = 'pending';
    const call = ServiceWorkerRegistration.prototype.showNotification.apply(registration, args);
    call.then(() => { outcome = 'shown'; }, error => { outcome = String(error); });
    return call;
  };
  try {
    self.dispatchEvent(new PushEvent('push', { data: JSON.stringify(payload) }));
    for (let i = 0; i < 400; i++) {  // up to 20 s
      const shown = (await registration.getNotifications({ tag: payload.tag }))
        .filter(n => !(n.data && n.data.result));
      if (shown.length) {
        return { outcome, shown: shown.map(n => ({
          title: n.title, body: n.body, tag: n.tag, image: n.image, icon: n.icon,
          badge: n.badge, data: n.data, silent: n.silent,
          actions: n.actions.map(a => ({ action: a.action, title: a.title })) })) };
      }
      if (outcome !== 'pending' && outcome !== 'shown') { break; }
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    return { outcome, shown: [] };
  } finally {
    delete registration.showNotification;
  }
}"""


def show_push(worker, payload: dict) -> dict:
    """The notification the worker's push handler shows for `payload`."""
    answer = worker.evaluate(SHOW_PUSH, payload)
    assert len(answer["shown"]) == 1, f"showNotification: {answer['outcome']}"
    return answer["shown"][0]


@pytest.fixture
def push():
    service = start_push_service()
    yield service
    service.server.stop()


# The user pressing one of the notification's buttons: a notificationclick on the shown
# notification with that action; then the notification the worker shows with the answer.
CLICK_ACTION = """async ({ tag, action }) => {
  const [shown] = (await self.registration.getNotifications({ tag }))
    .filter(n => !(n.data && n.data.result));
  try {
    self.dispatchEvent(new NotificationEvent('notificationclick',
                                             { notification: shown, action }));
  } catch (error) { /* waitUntil on a dispatched event: the handler has already acted */ }
  for (let i = 0; i < 400; i++) {  // up to 20 s: the server acts and answers
    const [answer] = await self.registration.getNotifications({ tag });
    if (answer && answer.data && answer.data.result) {
      return { title: answer.title, body: answer.body, result: answer.data.result };
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  return null;
}"""


def pushed_alert(api, push, camera: str, **rule):
    """A rule on `camera` and a matching event: the push the server's dispatcher sends to
    the loopback push service."""
    api("POST", "/api/alerts/rules", json={
        "camera_ids": [camera], "object_types": ["person"], "cooldown_seconds": 0,
        "channels": [], **rule})
    api("POST", "/api/events", json={
        "camera_id": camera, "started_at": datetime.now(UTC).isoformat(), "risk_score": 90,
        "detections": [{"object_type": "person", "confidence": 0.95}]})
    deadline = time.monotonic() + 20
    while not push.received and time.monotonic() < deadline:
        time.sleep(0.1)
    [got] = push.received
    return got


def _worker(context):
    if context.service_workers:
        return context.service_workers[0]
    return context.wait_for_event("serviceworker")


def test_manifest_and_icons_load_in_the_browser(page, server):
    page.goto(server + "/live")
    found = page.evaluate("""async () => {
      const link = document.querySelector('link[rel=manifest]');
      const manifest = await (await fetch(link.href)).json();
      const sizes = [];
      for (const icon of manifest.icons) {
        const image = new Image();
        image.src = new URL(icon.src, link.href).href;
        await image.decode();
        sizes.push([icon.sizes, image.naturalWidth + 'x' + image.naturalHeight]);
      }
      return { manifest, sizes };
    }""")
    manifest = found["manifest"]
    assert manifest["name"] == "alerting" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/live" and manifest["theme_color"]
    assert found["sizes"] == [["192x192", "192x192"], ["512x512", "512x512"]]


def test_notify_me_on_this_device_end_to_end(context, page, server, api, push):
    context.grant_permissions(["notifications"], origin=server)
    name = f"chromium-{uuid.uuid4().hex[:8]}"
    subscription = push.subscribe(name)
    page.add_init_script(STAND_IN % json.dumps(subscription))
    page.goto(server + "/live")
    expect(page.locator("#web-push")).to_have_attribute("data-worker", "ready")
    worker = _worker(context)
    assert worker.url == server + "/sw.js"
    assert page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => r.scope)") \
        == server + "/"

    page.get_by_role("button", name="Notify me on this device").click()
    expect(page.locator("#web-push-status")).to_contain_text("This device gets alerts")
    asked = page.evaluate("window.__subscribed")
    key = api("GET", "/api/push/vapid-public-key")["public_key"]
    assert asked == {"userVisibleOnly": True, "key": list(unb64url(key))}
    [saved] = [s for s in api("GET", "/api/push/subscriptions")["subscriptions"]
               if s["endpoint_origin"] == push.origin]
    assert saved["user"] == "admin" and "Chrome" in saved["label"]
    shot(page, "live-web-push", full_page=False)

    # An alert: the server's dispatcher pushes it to the loopback push service.
    camera = f"porch-{uuid.uuid4().hex[:8]}"
    got = pushed_alert(api, push, camera, name=f"Person on {camera}", severity="critical")
    assert got.claims["k"] == key and got.claims["aud"] == push.origin
    payload = got.payload
    assert payload["title"].startswith(f"[CRITICAL] Person on {camera}")

    # The worker's push handler, handed that payload, shows it.
    shown = show_push(worker, {**payload, "snapshot_url": "/icons/icon-512.png"})
    assert shown["title"] == payload["title"] and shown["body"] == payload["body"]
    assert shown["tag"] == payload["tag"]
    # ALERTING_PUBLIC_URL is set: the signed acknowledge and snooze-camera links, as POSTs
    assert shown["actions"] == [{"action": "acknowledge", "title": "Acknowledge"},
                                {"action": "snooze_camera", "title": "Snooze camera 30 min"}]
    assert [a["method"] for a in shown["data"]["actions"]] == ["POST", "POST"]
    assert shown["image"] == server + "/icons/icon-512.png"
    assert shown["badge"] == server + "/icons/icon-96.png"
    assert shown["data"]["url"] == payload["url"] == f"/alerts/{payload['alert_id']}"

    page.goto(server + "/account/password")
    row = page.locator(f"#push-subscription-{saved['id']}")
    expect(row).to_contain_text(push.origin)
    shot(page, "account-web-push")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("revoked")).to_be_visible()
    assert saved["id"] not in [s["id"] for s in
                               api("GET", "/api/push/subscriptions")["subscriptions"]]


def test_the_acknowledge_button_of_a_push_acknowledges_the_alert(context, page, server, api,
                                                                  push):
    """The server's push payload, shown by the worker; a click on its Acknowledge button
    POSTs the signed link (no session needed) and the worker shows the answer."""
    context.grant_permissions(["notifications"], origin=server)
    page.goto(server + "/live")
    expect(page.locator("#web-push")).to_have_attribute("data-worker", "ready")
    worker = _worker(context)
    name = f"ack-{uuid.uuid4().hex[:8]}"
    subscription = api("POST", "/api/push/subscriptions", json=push.subscribe(name))
    camera = f"gate-{uuid.uuid4().hex[:8]}"
    got = pushed_alert(api, push, camera, name=f"Person at {camera}", severity="high",
                       priority="urgent", sound="alarm")
    payload = got.payload
    assert got.headers["Urgency"] == "high" and payload["sound"] == "alarm"
    alert_id = payload["alert_id"]
    assert api("GET", f"/api/alerts/{alert_id}")["status"] != "acknowledged"

    shown = show_push(worker, payload)
    assert shown["actions"][0] == {"action": "acknowledge", "title": "Acknowledge"}
    answer = worker.evaluate(CLICK_ACTION, {"tag": payload["tag"], "action": "acknowledge"})
    assert answer == {"title": "Done", "body": f"Alert #{alert_id} acknowledged.",
                      "result": {"ok": True, "message": f"Alert #{alert_id} acknowledged."}}
    alert = api("GET", f"/api/alerts/{alert_id}")
    assert alert["status"] == "acknowledged" and alert["acknowledged_by"] == "action link"

    # The same button again: the link acts once; the worker says so.
    show_push(worker, payload)
    again = worker.evaluate(CLICK_ACTION, {"tag": payload["tag"], "action": "acknowledge"})
    assert again["title"] == "Not done" and "already been used" in again["body"]
    api("DELETE", f"/api/push/subscriptions/{subscription['id']}")  # the service stops


@pytest.mark.parametrize("sound, silent", [("none", True), ("alarm", False), (None, False)])
def test_a_rule_whose_sound_is_none_shows_a_silent_notification(context, page, server, sound,
                                                                 silent):
    """The rule's sound on web push: `none` is a silent notification; any other sound (or
    none given) lets the device sound its notification."""
    context.grant_permissions(["notifications"], origin=server)
    page.goto(server + "/live")
    expect(page.locator("#web-push")).to_have_attribute("data-worker", "ready")
    payload = {"title": "Person at the gate", "body": "b", "tag": f"alert-{sound}",
               "url": "/alerts/1", "alert_id": 1, "severity": "low", "actions": []}
    if sound:
        payload["sound"] = sound
    shown = show_push(_worker(context), payload)
    assert shown["silent"] is silent
    assert shown["data"]["sound"] == sound
