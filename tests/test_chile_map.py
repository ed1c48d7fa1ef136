"""The map of Chile's regions: the outline's data (codes, coordinates, shared borders, the
Metropolitana inland) and the SVG drawn from it (accessible names, fills, links, no styles)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.observatory import chile_map
from app.observatory.chile_map import REGION_CODES, RegionShade, region_map, region_outline_source
from app.settings import REGIONS
from app.web.charts import PATTERN_IDS

DATA_DIR = Path(chile_map.__file__).parent / "data"
SVG = "{http://www.w3.org/2000/svg}"
METRO = 13

Point = tuple[float, float]


def regions() -> dict[int, list[list[Point]]]:
    document = json.loads((DATA_DIR / "chile_regions.json").read_text(encoding="utf-8"))
    return {
        int(code): [[(lon, lat) for lon, lat in ring] for ring in region["polygons"]]
        for code, region in document["regions"].items()
    }


def points(code: int) -> list[Point]:
    return [p for ring in regions()[code] for p in ring]


def crosses(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Segments ab and cd cross inside both (sharing an end point does not count)."""
    if len({a, b, c, d}) < 4:
        return False

    def side(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    return side(c, d, a) * side(c, d, b) < 0 and side(a, b, c) * side(a, b, d) < 0


def ray_west_hits(start: Point, ring: list[Point]) -> bool:
    """Whether the horizontal line from ``start`` towards the west crosses the ring."""
    lon, lat = start
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(ring):
        if (lat1 > lat) != (lat2 > lat):
            at = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if at < lon - 1e-9:
                return True
    return False


# --- the outline's data ---------------------------------------------------------------------


def test_the_outline_has_exactly_the_regions_of_the_app():
    assert set(regions()) == set(REGIONS)
    assert tuple(REGIONS) == REGION_CODES


def test_every_polygon_is_a_closed_ring_inside_chiles_box():
    for code, rings in regions().items():
        assert rings, code
        for ring in rings:
            assert len(set(ring)) >= 3, code
            assert ring[0] == ring[-1], f"región {code}: anillo sin cerrar"
            assert len(set(ring)) == len(ring) - 1, f"región {code}: punto repetido"
            for lon, lat in ring:
                assert -76 <= lon <= -66 and -56 <= lat <= -17, (code, lon, lat)


def test_no_polygon_crosses_itself_or_another():
    rings = [(code, ring) for code, rs in regions().items() for ring in rs]
    for code, ring in rings:
        for e, f in itertools.combinations(itertools.pairwise(ring), 2):
            assert not crosses(*e, *f), f"región {code} se cruza consigo misma en {e}"
    for (code_a, a), (code_b, b) in itertools.combinations(rings, 2):
        for e in itertools.pairwise(a):
            for f in itertools.pairwise(b):
                assert not crosses(*e, *f), f"regiones {code_a} y {code_b} se montan en {e}"


def test_consecutive_regions_share_their_border_exactly():
    for north, south in itertools.pairwise(REGION_CODES):
        shared = set(points(north)) & set(points(south))
        assert len(shared) >= 2, (north, south)


def test_the_metropolitana_is_inland():
    metro = points(METRO)
    assert min(lon for lon, _ in metro) > -71.9
    assert min(lat for _, lat in metro) > -34.5 and max(lat for _, lat in metro) < -32.7
    # West of its westernmost point lies another region before the sea.
    west = min(metro)
    neighbours = regions()[5][0], regions()[6][0]
    assert any(ray_west_hits(west, ring) for ring in neighbours)


def test_every_other_region_reaches_the_coast():
    """Nothing of another region lies due west of each region's westernmost point."""
    all_regions = regions()
    for code, rings in all_regions.items():
        if code == METRO:
            continue
        west = min(p for ring in rings for p in ring)
        others = [ring for other, rs in all_regions.items() if other != code for ring in rs]
        assert not any(ray_west_hits(west, ring) for ring in others), code
    for code in (5, 6, 7, 16, 8, 9, 14):  # central Chile: the coast lies west of 71.3° W
        assert min(lon for lon, _ in points(code)) < -71.3, code


def test_regions_run_north_to_south_in_the_apps_order():
    middles = [sum(lat for _, lat in points(code)) / len(points(code)) for code in REGION_CODES if code != METRO]
    assert middles == sorted(middles, reverse=True)


def test_the_json_is_what_its_generator_writes_and_stays_small():
    path = DATA_DIR / "make_chile_regions.py"
    spec = importlib.util.spec_from_file_location("make_chile_regions", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = (DATA_DIR / "chile_regions.json").read_text(encoding="utf-8")
    assert module.dump(module.build()) == written
    assert len(written.encode()) < 40_000


def test_the_source_says_what_the_outline_is_and_its_licence():
    text = region_outline_source()
    assert "CC0" in text and "simplificado" in text and "Antártico" in text


# --- the SVG --------------------------------------------------------------------------------

CATEGORIES = ["green", "yellow", "red", "insufficient_data", None]


def shades(with_links: bool = False) -> dict[int, RegionShade]:
    return {
        code: RegionShade(
            CATEGORIES[index % len(CATEGORIES)],
            f"{REGIONS[code]}: 62 % verde (16 cooperativas)",
            f"#region-{code}" if with_links and index % 2 else None,
        )
        for index, code in enumerate(REGION_CODES)
    }


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def by_region(root: ET.Element) -> dict[int, ET.Element]:
    found = [element for element in root.iter() if "data-region" in element.attrib]
    assert len(found) == len({e.get("data-region") for e in found})
    return {int(element.get("data-region")): element for element in found}


def test_the_svg_is_an_image_named_by_its_escaped_title_and_desc():
    title, desc = 'Semáforo <general> & "por región"', "Verde en 5 regiones; <3> sin datos & más."
    markup = region_map("mapa-general", title, desc, shades())
    root = parse(markup)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%" and root.get("viewBox")
    title_element = root.find(f"{SVG}title")
    desc_element = root.find(f"{SVG}desc")
    assert title_element.text == title and desc_element.text == desc
    assert root.get("aria-labelledby").split() == [title_element.get("id"), desc_element.get("id")]
    assert "<general>" not in markup and "&lt;general&gt;" in markup


def test_one_region_element_per_code_with_its_label():
    root = parse(region_map("m", "t", "d", shades()))
    regions_found = by_region(root)
    assert set(regions_found) == set(REGIONS)
    for code, element in regions_found.items():
        assert element.tag == f"{SVG}path" and "map-region" in element.get("class").split()
        assert element.find(f"{SVG}title").text == f"{REGIONS[code]}: 62 % verde (16 cooperativas)"
        assert re.fullmatch(r"(M[-\d. L]+Z)+", element.get("d")), code


def test_fills_follow_the_category_and_no_figure_is_grey_and_dashed():
    given = shades()
    root = parse(region_map("m", "t", "d", given))
    for code, element in by_region(root).items():
        category = given[code].category
        if category is None:
            assert element.get("fill") == "#f4f5f2"
            assert element.get("stroke-dasharray")
        else:
            assert element.get("fill") == f"url(#{PATTERN_IDS[category]})"
            assert element.get("fill").startswith("url(#cd-pat-")
            assert element.get("stroke-dasharray") is None


def test_a_region_without_a_shade_is_drawn_without_a_figure():
    root = parse(region_map("m", "t", "d", {7: RegionShade("red", "Maule")}))
    fills = {code: element.get("fill") for code, element in by_region(root).items()}
    assert fills[7] == "url(#cd-pat-red)"
    assert all(fill == "#f4f5f2" for code, fill in fills.items() if code != 7)


def test_an_unknown_category_is_refused():
    with pytest.raises(ValueError):
        region_map("m", "t", "d", {7: RegionShade("purple", "Maule")})


def test_no_inline_style_no_script_no_pattern_redefined():
    markup = str(region_map("m", "t", "d", shades(with_links=True)))
    assert "style=" not in markup and "<script" not in markup.lower()
    assert "<pattern" not in markup and "javascript:" not in markup


def test_regions_with_an_href_are_links_named_by_their_label():
    given = shades(with_links=True)
    given[7] = RegionShade("green", 'Maule: "62 %" <verde>', '#region-7?a=1&b="2"')
    markup = region_map("m", "t", "d", given)
    root = parse(markup)
    links = {int(link.find(f"{SVG}path").get("data-region")): link for link in root.iter(f"{SVG}a")}
    assert set(links) == {code for code, shade in given.items() if shade.href}
    for code, link in links.items():
        assert link.get("href") == given[code].href
        assert link.get("aria-label") == given[code].label
    # An image hides its content, links included: a map with links is a group of them.
    assert root.get("role") == "group"
    assert root.get("aria-labelledby")


def test_the_drawing_fits_its_viewbox_in_three_panels():
    root = parse(region_map("m", "t", "d", shades()))
    _, _, width, height = map(float, root.get("viewBox").split())
    assert 340 <= width <= 380 and 380 <= height <= 560
    for element in by_region(root).values():
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", element.get("d"))]
        xs, ys = numbers[0::2], numbers[1::2]
        assert min(xs) >= 0 and max(xs) <= width and min(ys) >= 0 and max(ys) <= height
    captions = [text.text for text in root.iter(f"{SVG}text")]
    assert {"Norte", "Centro", "Sur"} <= set(captions)
    # North to south inside each panel; each panel left of the next.
    tops = {}
    for code, element in by_region(root).items():
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", element.get("d"))]
        tops[code] = (min(numbers[0::2]), min(numbers[1::2]))
    for _, _, codes in chile_map.PANELS:
        strip = [code for code in codes if code != METRO]
        assert [tops[code][1] for code in strip] == sorted(tops[code][1] for code in strip)
    lefts = [min(tops[code][0] for code in codes) for _, _, codes in chile_map.PANELS]
    assert lefts == sorted(lefts)
