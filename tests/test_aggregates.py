"""Observatory aggregates (app/exchange/aggregates.py): the arithmetic on hand-made rows, then
the API on the known world of tests/test_exports.py (SQLite and PostgreSQL): counts, shares and
quartiles per grouping, the change between two rounds, filters, bad parameters and who may ask."""

from __future__ import annotations

import pytest

from app.exchange.aggregates import Grouping, ResultRow, aggregate, change, size_band
from app.exchange.exports import Level
from app.settings import Settings
from test_exports import make_world

OVERALL = Level("general", "overall", "general", "Resultado general")
DIMENSION = Level("d:x", "dimension", "x", "Dimensión X")
NO_LIGHTS = {light: 0 for light in ("green", "yellow", "red", "insufficient_data", "not_applicable")}


def row(
    cooperative_id: int,
    overall: tuple,
    dimension: tuple | None = None,
    *,
    region: int = 13,
    sectors=(),
    members: int | None = None,
    legal_type: str = "campesina",
) -> ResultRow:
    results = {"general": overall} | ({"d:x": dimension} if dimension else {})
    return ResultRow(cooperative_id, region, legal_type, tuple(sectors), members, results)


def test_size_bands_have_closed_lower_and_open_upper_bounds():
    assert [size_band(n)[0] for n in (None, 0, 9, 10, 29, 30, 99, 100, 5000)] == [
        "sin_dato",
        "0-9",
        "0-9",
        "10-29",
        "10-29",
        "30-99",
        "30-99",
        "100+",
        "100+",
    ]


def test_counts_shares_and_inclusive_quartiles():
    rows = [
        row(1, (90.0, "green"), region=13, sectors=["lacteos", "apicola"], members=12),
        row(2, (85.0, "green"), region=9, sectors=["lacteos"], members=150),
        row(3, (60.0, "yellow"), region=13, members=3),
        row(4, (10.0, "red"), region=5, sectors=["apicola"]),
        row(5, (None, "insufficient_data"), region=9, sectors=["lacteos"], members=40),
    ]
    data = aggregate(rows, levels=[OVERALL], grouping=None, settings=Settings())
    assert data["by"] is None and data["groups"] == []
    [overall] = data["total"]["levels"]
    assert overall["counts"] == NO_LIGHTS | {"green": 2, "yellow": 1, "red": 1, "insufficient_data": 1}
    assert overall["shares"] == {
        "green": 0.4,
        "yellow": 0.2,
        "red": 0.2,
        "insufficient_data": 0.2,
        "not_applicable": 0.0,
    }
    # Inclusive method on 10, 60, 85, 90: Q1 = 47.5, median = 72.5, Q3 = 86.25.
    assert overall["scores"] == {"count": 4, "q1": 47.5, "median": 72.5, "q3": 86.25}

    def groups(grouping):
        data = aggregate(rows, levels=[OVERALL], grouping=grouping, settings=Settings())
        return [(g["key"], g["label"], g["responses"], g["levels"][0]["counts"]["green"]) for g in data["groups"]]

    # Regions in the order of the macrozones (Centro: 5, 13; Sur: 9).
    assert groups(Grouping.REGION) == [
        ("5", "Valparaíso", 1, 0),
        ("13", "Metropolitana de Santiago", 2, 1),
        ("9", "La Araucanía", 2, 1),
    ]
    assert groups(Grouping.MACROZONE) == [("Centro", "Centro", 3, 1), ("Sur", "Sur", 2, 1)]
    # A cooperative counts in each of its sectors; one without any in "sin_rubro".
    assert groups(Grouping.SECTOR) == [
        ("lacteos", "Lácteos", 3, 2),
        ("apicola", "Apícola", 2, 1),
        ("sin_rubro", "Sin rubro registrado", 1, 0),
    ]
    assert groups(Grouping.SIZE) == [
        ("0-9", "Menos de 10 socios", 1, 0),
        ("10-29", "De 10 a 29 socios", 1, 1),
        ("30-99", "De 30 a 99 socios", 1, 0),
        ("100+", "100 socios o más", 1, 1),
        ("sin_dato", "Sin dato de socios", 1, 0),
    ]
    assert groups(Grouping.LEGAL_TYPE) == [("campesina", "Cooperativa campesina", 5, 2)]


def test_an_empty_level_has_no_shares_and_no_quartiles():
    data = aggregate([], levels=[OVERALL], grouping=Grouping.REGION, settings=Settings())
    [overall] = data["total"]["levels"]
    assert data["groups"] == [] and overall["responses"] == 0
    assert set(overall["shares"].values()) == {None}
    assert overall["scores"] == {"count": 0, "q1": None, "median": None, "q3": None}


def test_change_counts_moves_and_the_median_change():
    earlier = [
        row(1, (40.0, "red"), (40.0, "red")),
        row(2, (90.0, "green"), (90.0, "green")),
        row(3, (70.0, "yellow"), (None, "not_applicable")),
        row(4, (60.0, "yellow")),
        row(9, (10.0, "red")),
    ]  # 9 is not in the later round
    later = [
        row(1, (85.0, "green"), (60.0, "yellow")),
        row(2, (70.0, "yellow"), (88.0, "green")),
        row(3, (75.0, "yellow"), (50.0, "yellow")),
        row(4, (None, "insufficient_data")),
        row(5, (95.0, "green")),
    ]  # 5 was not in the earlier round
    data = change(earlier, later, levels=[OVERALL, DIMENSION])
    assert data["cooperatives"] == 4
    overall, dimension = data["levels"]
    assert {k: overall[k] for k in ("cooperatives", "up", "down", "same", "not_comparable")} == {
        "cooperatives": 4,
        "up": 1,
        "down": 1,
        "same": 1,
        "not_comparable": 1,
    }
    # Changes +45, -20, +5 (4 has no score now): median 5, Q1 -7.5, Q3 25.
    assert overall["score_change"] == {"count": 3, "q1": -7.5, "median": 5.0, "q3": 25.0}
    # Cooperative 4 has no dimension result in either round: it is not counted for the dimension.
    assert {k: dimension[k] for k in ("cooperatives", "up", "down", "same", "not_comparable")} == {
        "cooperatives": 3,
        "up": 1,
        "down": 0,
        "same": 1,
        "not_comparable": 1,
    }
    assert dimension["score_change"]["count"] == 2 and dimension["score_change"]["median"] == 9.0


# --------------------------------------------------------------------------- through the API


@pytest.fixture
def world(api_env, write_questionnaire):
    return make_world(api_env, write_questionnaire)


def level(data: dict, level_id: str) -> dict:
    return next(item for item in data["levels"] if item["id"] == level_id)


def test_round_aggregates_of_the_known_world(api_env, world):
    """Counted: A submitted (overall green 87.5, gobernanza yellow 75, finanzas green 100) and B's
    current validated revision (all red, 0); not B's earlier revision nor C's draft."""
    _, headers = api_env.user("analyst")
    reply = api_env.client.get(f"/api/v1/rounds/{world.round_id}/aggregates", params={"by": "region"}, headers=headers)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["round"]["name"] == "Ronda nacional 2026" and data["by"] == "region"
    total = data["total"]
    assert total["responses"] == 2
    assert [item["id"] for item in total["levels"]] == [
        "general",
        "gobernanza",
        "asamblea",
        "perfil",
        "finanzas",
        "liquidez",
    ]
    overall = level(total, "general")
    assert overall["counts"] == NO_LIGHTS | {"green": 1, "red": 1}
    assert overall["shares"]["green"] == 0.5 and overall["shares"]["yellow"] == 0.0
    assert overall["scores"] == {"count": 2, "q1": 21.88, "median": 43.75, "q3": 65.62}
    perfil = level(total, "perfil")
    assert perfil["counts"] == NO_LIGHTS | {"not_applicable": 2} and perfil["scores"]["count"] == 0
    assert (perfil["level"], perfil["dimension"]) == ("subcategory", "gobernanza")
    assert level(total, "gobernanza")["counts"] == NO_LIGHTS | {"yellow": 1, "red": 1}
    by_region = {group["key"]: group for group in data["groups"]}
    assert list(by_region) == ["13", "9"]
    assert by_region["13"]["label"] == "Metropolitana de Santiago"
    assert level(by_region["13"], "finanzas")["counts"] == NO_LIGHTS | {"green": 1}
    assert level(by_region["13"], "finanzas")["scores"] == {"count": 1, "q1": 100.0, "median": 100.0, "q3": 100.0}
    assert level(by_region["9"], "general")["counts"] == NO_LIGHTS | {"red": 1}

    sizes = api_env.client.get(
        f"/api/v1/rounds/{world.round_id}/aggregates", params={"by": "size"}, headers=headers
    ).json()
    assert [(g["key"], g["responses"]) for g in sizes["groups"]] == [("10-29", 1), ("sin_dato", 1)]
    sectors = api_env.client.get(
        f"/api/v1/rounds/{world.round_id}/aggregates", params={"by": "sector"}, headers=headers
    ).json()
    assert [(g["key"], g["responses"]) for g in sectors["groups"]] == [
        ("hortalizas", 1),
        ("lacteos", 1),
        ("apicola", 1),
    ]
    filtered = api_env.client.get(
        f"/api/v1/rounds/{world.round_id}/aggregates", params={"macrozone": "Sur", "by": "legal_type"}, headers=headers
    ).json()
    assert filtered["total"]["responses"] == 1 and [g["key"] for g in filtered["groups"]] == ["agricola"]


def test_change_between_the_two_rounds(api_env, world):
    """Earlier: A all red (0), B yellow (overall 62.5, gobernanza 75, finanzas 50). Now: A
    green 87.5 (gobernanza yellow 75, finanzas green 100), B all red."""
    _, headers = api_env.user("admin")
    reply = api_env.client.get(
        "/api/v1/aggregates/change", params={"from": world.earlier_round_id, "to": world.round_id}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert (data["from"]["name"], data["to"]["name"], data["cooperatives"]) == (
        "Ronda piloto 2025",
        "Ronda nacional 2026",
        2,
    )
    assert [item["id"] for item in data["levels"]] == ["general", "gobernanza", "finanzas"]
    moves = {
        item["id"]: (item["up"], item["down"], item["same"], item["not_comparable"], item["score_change"]["median"])
        for item in data["levels"]
    }
    assert moves == {"general": (1, 1, 0, 0, 12.5), "gobernanza": (1, 1, 0, 0, 0.0), "finanzas": (1, 1, 0, 0, 25.0)}
    only_a = api_env.client.get(
        "/api/v1/aggregates/change",
        headers=headers,
        params={"from": world.earlier_round_id, "to": world.round_id, "region": 13},
    ).json()
    assert only_a["cooperatives"] == 1 and level(only_a, "general")["up"] == 1


def test_aggregates_parameters_and_who_may_ask(api_env, world):
    round_url = f"/api/v1/rounds/{world.round_id}/aggregates"
    change_url = f"/api/v1/aggregates/change?from={world.earlier_round_id}&to={world.round_id}"
    for role, expected in (("admin", 200), ("analyst", 200), ("field", 403), ("manager", 403)):
        _, headers = api_env.user(role, cooperatives=[world.coops["A"]] if role == "manager" else ())
        for url in (round_url, change_url):
            assert api_env.client.get(url, headers=headers).status_code == expected, (role, url)
    for url in (round_url, change_url):
        assert api_env.client.get(url).status_code == 401
    _, headers = api_env.user("analyst")
    for url, params, field in (
        (round_url, {"by": "comuna"}, "by"),
        (round_url, {"region": 77}, "region"),
        ("/api/v1/aggregates/change", {"to": world.round_id}, "from"),
        ("/api/v1/aggregates/change", {"from": world.round_id, "to": world.round_id}, "to"),
    ):
        reply = api_env.client.get(url, params=params, headers=headers)
        assert reply.status_code == 422, (url, params, reply.text)
        assert field in [detail["field"] for detail in reply.json()["error"]["details"]]
    missing = api_env.client.get(
        "/api/v1/aggregates/change", params={"from": world.round_id, "to": 987654}, headers=headers
    )
    assert missing.status_code == 404
