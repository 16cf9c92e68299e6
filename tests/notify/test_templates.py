"""Rule templates: the sandbox refuses escapes, when saved and when rendered; a failing
template falls back to the default and says why; push priority per service."""

import pytest
from jinja2.exceptions import SecurityError

from alerting.notify import templates
from alerting.notify.media import sign_media_path, verify_media_path
from alerting.notify.push import with_options

VARIABLES = {"alert": {"id": 7, "severity": "high"}, "rule": {"name": "Back door"},
             "event": {"camera_id": "back-door", "summary": "a person"},
             "detections": [{"object_type": "person", "confidence": 0.91}],
             "camera": {"id": "back-door", "name": "Back door"}, "mode": "away",
             "links": {"alert": "https://a.example/alerts/7"}}

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ alert.__class__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ request.application.__globals__ }}",
    "{{ config.__class__.__init__.__globals__ }}",
    "{{ alert['__class__'] }}",
    "{% set x = ''.__class__ %}{{ x }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_are_refused_when_saved(source):
    assert "names starting with _" in templates.check(source)


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_are_refused_when_rendered(source):
    with pytest.raises(SecurityError):
        templates.render(source, VARIABLES)


@pytest.mark.parametrize("name", ["__class__", "__init__", "__len__"])
def test_the_sandbox_itself_refuses_a_name_the_check_cannot_see(name):
    # The attribute's name comes from the data, not the template's source.
    assert templates.check("{{ alert|attr(name) }}") is None
    with pytest.raises(SecurityError):
        templates.render("{{ alert|attr(name) }}", {**VARIABLES, "name": name})


@pytest.mark.parametrize("source", [
    "{{ detections.append(1) }}",  # immutable: no changing the data
    "{{ alert.update({'id': 1}) }}",
    "{{ alert.clear() }}",
])
def test_mutating_the_data_is_refused(source):
    assert templates.check(source) is None  # compiles; refused when it runs
    with pytest.raises(SecurityError):
        templates.render(source, VARIABLES)
    assert VARIABLES["alert"] == {"id": 7, "severity": "high"}


def test_no_globals_are_available():
    assert templates.render("{{ range }}{{ cycler }}{{ lipsum }}{{ dict }}", VARIABLES) == ""


def test_variables_render():
    source = ("{{ camera.name }}: {{ detections[0].object_type }} "
              "{{ (detections[0].confidence * 100) | round | int }}% in {{ mode }} "
              "{{ links.alert }} {{ event.missing.deeper }}")
    assert templates.render(source, VARIABLES) == \
        "Back door: person 91% in away https://a.example/alerts/7 "


def test_syntax_errors_are_named():
    assert templates.check("{{ alert.id ") .startswith("does not compile")
    assert templates.check("{% for x in y %}") .startswith("does not compile")
    assert templates.check("{{ alert.id }}") is None


def test_output_is_capped():
    assert len(templates.render("{% for a in detections * 30000 %}x{% endfor %}",
                                VARIABLES)) == templates.MAX_OUTPUT


def test_render_parts_fall_back_and_say_why():
    rendered = templates.render_parts(
        "email", {"subject": "{{ 1 / 0 }}", "body": "Hello {{ rule.name }}"}, VARIABLES,
        {"subject": "Default subject", "body": "Default body"})
    assert rendered.parts == {"subject": "Default subject", "body": "Hello Back door"}
    [note] = rendered.notes
    assert note.startswith("template email.subject failed (ZeroDivisionError")


def test_render_parts_replace_an_empty_result_and_make_titles_one_line():
    rendered = templates.render_parts(
        "push", {"title": "A\n  {{ rule.name }}\n", "body": "{{ event.nothing }}"}, VARIABLES,
        {"title": "T", "body": "B"})
    assert rendered.parts == {"title": "A Back door", "body": "B"}
    assert rendered.notes == ["template push.body rendered empty; the default was used"]


def test_merged_takes_the_rules_part_else_the_sites():
    rule = {"email": {"subject": "rule subject"}}
    site = {"email": {"subject": "site subject", "body": "site body"}, "push": {"title": "t"}}
    assert templates.merged(rule, site, "email") == {"subject": "rule subject",
                                                     "body": "site body"}
    assert templates.merged(None, site, "push") == {"title": "t"}
    assert templates.merged(rule, None, "webhook") == {}


@pytest.mark.parametrize("url, priority, expected", [
    ("ntfy://host/topic", "urgent", "ntfy://host/topic?priority=5&click=C"),
    ("ntfys://host/topic?priority=1", "urgent", "ntfys://host/topic?priority=1&click=C"),
    ("ntfy://host/topic", "normal", "ntfy://host/topic?click=C"),
    ("pover://user@token", "urgent",
     "pover://user@token?priority=2&interval=60&expire=3600&url=C"),
    ("pover://user@token", "low", "pover://user@token?priority=-1&url=C"),
    ("tgram://bot/chat", "urgent", "tgram://bot/chat"),
])
def test_priority_and_click_per_service(url, priority, expected):
    assert with_options(url, priority, "C") == expected


def test_pushover_urgent_is_an_emergency_with_retry():
    import apprise

    notifier = apprise.Apprise()
    assert notifier.add(with_options("pover://" + "u" * 30 + "@" + "t" * 30, "urgent", None))
    [service] = list(notifier)
    assert int(service.priority) == 2 and service.interval == 60 and service.expire == 3600


def test_media_signatures():
    link = sign_media_path("key", "/media/events/1/snapshot.jpg", 60, now=1000)
    path, query = link.split("?")
    exp, sig = (part.split("=", 1)[1] for part in query.split("&"))
    assert exp == "1060"
    assert verify_media_path("key", path, exp, sig, now=1059)
    assert not verify_media_path("key", path, exp, sig, now=1061)  # expired
    assert not verify_media_path("other key", path, exp, sig, now=1000)  # key rotated
    assert not verify_media_path("key", path.replace("1", "2"), exp, sig, now=1000)
    assert not verify_media_path("key", path, "1061", sig, now=1000)
    assert not verify_media_path("key", path, exp, None, now=1000)
    assert not verify_media_path("key", path, "-5", sig, now=1000)
