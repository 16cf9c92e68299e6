from alerting.errors import ApiError
from tests.support.app import make_app


def test_health_needs_no_key_and_tells_no_secrets(client, app):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json
    assert body["database"] == "ok"
    assert body["backlog"] == {"events_unprocessed": 0, "deliveries_pending": 0}
    assert app.config["SECRET_KEY"] not in response.get_data(as_text=True)


def test_unknown_api_route_is_json_404(client, admin_headers):
    response = client.get("/api/nothing-here", headers=admin_headers)
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_wrong_method_is_json_405(client, admin_headers):
    response = client.put("/api/health", headers=admin_headers)
    assert response.status_code == 405 and response.is_json


def test_unhandled_error_is_json_500_without_traceback(tmp_path, caplog):
    app = make_app(tmp_path, AUTH=False)

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/api/conflict")
    def conflict():
        raise ApiError(409, "conflict", "no")

    client = app.test_client()
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.json == {"error": "server_error", "message": "Internal server error"}
    assert "secret internals" not in response.get_data(as_text=True)
    assert "RuntimeError: secret internals" in caplog.text
    assert client.get("/api/conflict").status_code == 409


def test_html_error_page_for_browsers(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404 and b"<html" in response.data
