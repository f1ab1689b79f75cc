"""A replay of the old front end's HTTP rules (the contract's "How the old front end reacts"), to
test the platform the way that client drives it and to count what it sends.

Its axios instance:
- sends cookies, and echoes the `XSRF-TOKEN` cookie as the `X-XSRF-TOKEN` header;
- on any HTTP 401: dispatches logout (POST /api/users/logout through the same rules) and goes
  to the login page;
- on any other failed status except 404: re-sends the same request up to 3 more times;
- on HTTP 404: shows 请求的资源不存在;
- on HTTP 200 with `code` != 200: code 401 logs out as above; 1001-1007 show the client's own
  messages; any other code shows `message`.
"""

import json
from dataclasses import dataclass, field
from http import HTTPStatus

from rest_framework.test import APIClient

RETRIES = 3
# The loop the old platform started (a logout answering 401) is cut here and reported.
MAX_LOGOUTS = 20
CLIENT_MESSAGES = {
    1001: "用户名已存在",
    1002: "邮箱已被注册",
    1005: "账号已被禁用",
    1006: "用户名或密码错误",
    1007: "原密码错误",
}


@dataclass
class Outcome:
    ok: bool
    data: object = None
    shown: str | None = None  # what the page shows the user, if anything


@dataclass
class OldFrontEnd:
    client: APIClient = field(default_factory=lambda: APIClient(enforce_csrf_checks=True))
    sent: list[str] = field(default_factory=list)  # "METHOD /path" of every request
    page: str = "/"
    logouts: int = 0

    def get(self, path: str) -> Outcome:
        return self.request("GET", path)

    def post(self, path: str, body: dict | None = None) -> Outcome:
        return self.request("POST", path, body)

    def put(self, path: str, body: dict | None = None) -> Outcome:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> Outcome:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, body: dict | None = None) -> Outcome:
        for _attempt in range(1 + RETRIES):
            response = self._send(method, path, body)
            status = response.status_code
            if status == HTTPStatus.UNAUTHORIZED:
                self._logout()
                return Outcome(ok=False)
            if status == HTTPStatus.NOT_FOUND:
                return Outcome(ok=False, shown="请求的资源不存在")
            if status < HTTPStatus.BAD_REQUEST:
                return self._read(response)
        return Outcome(ok=False, shown=_message(response))

    def _send(self, method: str, path: str, body: dict | None):
        self.sent.append(f"{method} {path.split('?')[0]}")
        headers = {}
        token = self.client.cookies.get("XSRF-TOKEN")
        if token is not None:
            headers["X-XSRF-TOKEN"] = token.value
        data = json.dumps(body) if body is not None else None
        return self.client.generic(
            method, path, data or "", content_type="application/json", headers=headers
        )

    def _read(self, response) -> Outcome:
        body = response.json()
        if not path_is_envelope(response):
            return Outcome(ok=True, data=body)
        code = body["code"]
        if code == HTTPStatus.OK:
            return Outcome(ok=True, data=body["data"])
        if code == HTTPStatus.UNAUTHORIZED:
            self._logout()
            return Outcome(ok=False)
        return Outcome(ok=False, shown=CLIENT_MESSAGES.get(code, body["message"]))

    def _logout(self) -> None:
        self.logouts += 1
        if self.logouts > MAX_LOGOUTS:
            raise AssertionError(f"logout loop: {self.logouts} logouts")
        self.request("POST", "/api/users/logout")
        self.page = "/user/login"

    # The pages' steps, as the front end's views make them.

    def check_username(self, username: str) -> Outcome:
        """The register page, when the name field loses focus."""
        return self.get(f"/api/users/check-username?username={username}")

    def register(self, **fields) -> Outcome:
        """The register page refuses to submit unless the name check answered true."""
        check = self.check_username(fields["username"])
        if check.data is not True:
            return Outcome(ok=False, shown=check.shown or "用户名已存在")
        return self.post("/api/users/register", fields)

    def login(self, username: str, password: str) -> Outcome:
        outcome = self.post("/api/users/login", {"username": username, "password": password})
        if outcome.ok:
            assert outcome.data["sessionId"], "the client keeps sessionId as its token"
            self.page = "/"
        return outcome

    def comment_authors(self, author_ids: list[int]) -> list[str]:
        """The movie page's comment list: `GET /api/users/{authorId}` for every comment's
        author; an author it cannot read shows as 未知用户 (and the failure as a toast)."""
        names = []
        for author_id in author_ids:
            outcome = self.get(f"/api/users/{author_id}")
            names.append(outcome.data["username"] if outcome.ok else "未知用户")
        return names


def path_is_envelope(response) -> bool:
    return response.wsgi_request.path.startswith("/api/users/")


def _message(response) -> str:
    body = response.json()
    return body.get("message") or body.get("error")
