"""Authentication in front of /api/nodes* (core/http/auth/middleware.go Middleware,
tryAuthenticate, extractKey, authError, RequireAdmin; core/http/app.go wiring).

Distributed mode refuses to start without --auth (application/distributed.go initDistributed),
so there the auth DB is always on and the admin middleware is RequireAdmin. `user_keys` are
DB API keys of role "user"; `admin_keys` are legacy API keys (LOCALAI_API_KEY), which the
middleware turns into a synthetic admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from tests.localaisim.render import api_error

UNAUTHORIZED = api_error(401, "An authentication key is required", "invalid_request_error")
FORBIDDEN = api_error(403, "Admin access required", "authorization_error")


@dataclass(frozen=True)
class Auth:
    admin_keys: frozenset[str]
    user_keys: frozenset[str]
    db_enabled: bool  # auth DB on: always in distributed mode

    def role(self, headers: Any) -> str | None:
        """"admin", "user", "" (no auth configured at all: pass through) or None (-> 401)."""
        if not self.db_enabled and not self.admin_keys:
            return ""
        if self.db_enabled:  # tryAuthenticate: Bearer, then x-api-key / xi-api-key, then token cookie
            auth = headers.get("Authorization") or ""
            tried = [auth[len("Bearer "):]] if auth.startswith("Bearer ") else []
            tried += [headers.get(h) or "" for h in ("x-api-key", "xi-api-key")] + [_cookie(headers)]
            if any(key and key in self.user_keys for key in tried):
                return "user"
        key = _extract_key(headers)  # legacy key: the FIRST source present is the only one tried
        if key and key in self.admin_keys:
            return "admin"
        return None

    def admin_required(self) -> bool:
        return self.db_enabled  # app.go: RequireAdmin when AuthDB != nil, else NoopMiddleware


def _cookie(headers: Any) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("Cookie") or "")
    except Exception:
        return ""
    morsel = jar.get("token")
    return morsel.value if morsel is not None else ""


def _extract_key(headers: Any) -> str:
    """middleware.go extractKey: Authorization (Bearer stripped, else taken raw), x-api-key,
    xi-api-key, then the token cookie."""
    auth = headers.get("Authorization") or ""
    if auth.startswith("Bearer "):
        return str(auth[len("Bearer "):])
    if auth:
        return str(auth)
    return str(headers.get("x-api-key") or headers.get("xi-api-key") or _cookie(headers))
