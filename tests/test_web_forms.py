"""Every form a person can post carries the session's CSRF token (a form without it would
be refused with 403): checked on the pages of each area as the people who use them."""

from __future__ import annotations

import re

import pytest

FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')

PAGES = {
    "admin": [
        "/admin",
        "/admin/usuarios",
        "/admin/invitaciones",
        "/admin/rondas",
        "/admin/rondas/nueva",
        "/admin/cuestionarios",
        "/analisis",
        "/analisis/cooperativas",
    ],
    "analyst": ["/analisis", "/analisis/cooperativas"],
    "field": ["/terreno", "/terreno/cooperativas/nueva"],
    "manager": ["/mis-cooperativas"],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_post_form_carries_the_csrf_token(api_env, role):
    user, _ = api_env.user(
        role, macrozones=["Sur"] if role == "field" else (), institution="U" if role == "field" else None
    )
    client = api_env.client
    assert client.post("/ingresar", data={"email": user.email, "password": "clave-segura-123"}).status_code == 200
    expected = client.get("/api/v1/auth/me").json()["csrf_token"]
    for path in PAGES[role]:
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        forms = FORM.findall(page.text)
        assert forms, f"{path}: no post form (the logout form at least)"
        for body in forms:
            tokens = TOKEN.findall(body)
            assert tokens == [expected], (path, body[:200])
