"""Generator of ``chile_regions.json``: a simplified schematic outline of Chile's 16 regions.

The outline is drawn by hand here, from approximate public coordinates of places along the
coast and the international border (ports, capes, passes, volcanoes on the border), a point
every 0.25-0.5 degrees of latitude and more where the shape bends. It is a schematic for a
choropleth, not a survey: do not measure areas or borders with it. The Antarctic territory
and the oceanic islands (Rapa Nui, Juan Fernández, Desventuradas, Salas y Gómez) are not drawn.

How it is built, so that adjacent regions share their boundary points exactly:

* ``COAST`` runs north to south from the Peruvian border to Punta Dúngeness, ``EAST`` does the
  same along the eastern border (Peru, Bolivia, Argentina); both start and end at the same point.
* ``BOUNDARIES`` are the lines between consecutive regions, each drawn from a point of ``COAST``
  to a point of ``EAST``. A region is the coast between its two lines, its southern line, the
  eastern border back north and its northern line.
* The Región Metropolitana does not touch the sea: Valparaíso's southern line is the short
  Valparaíso/O'Higgins line (Rapel) followed by the Metropolitana's western and northern limit,
  O'Higgins' northern line the same short line followed by the Metropolitana's southern limit.
* Islands (Chiloé, the Chonos, Tierra del Fuego's Chilean part and the islands south of it) are
  polygons of their own.

Rerun it after editing the coordinates (from the project root)::

    .venv/bin/python app/observatory/data/make_chile_regions.py

It checks that no polygon crosses itself or another one, and rewrites ``chile_regions.json``
beside it. All coordinates below are written (latitude, longitude), WGS84 degrees.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from app.settings import REGIONS

OUTPUT = Path(__file__).with_name("chile_regions.json")

SOURCE = (
    "Contorno esquemático y simplificado de las 16 regiones de Chile, dibujado para este proyecto a partir de "
    "coordenadas geográficas aproximadas; dedicado al dominio público (CC0 1.0). No sirve para medir superficies "
    "ni límites. No se dibujan el Territorio Chileno Antártico ni las islas oceánicas."
)
LICENCE = "CC0-1.0"

NAMES = REGIONS
#: The regions that reach the sea, north to south (the Metropolitana is drawn apart).
STRIP = (15, 1, 2, 3, 4, 5, 6, 7, 16, 8, 9, 14, 10, 11, 12)

Point = tuple[float, float]

COAST: list[Point] = [
    # Arica y Parinacota
    (-18.35, -70.38),  # Línea de la Concordia (border with Peru)
    (-18.48, -70.33),  # Arica
    (-18.80, -70.32),
    (-19.20, -70.27),  # Camarones
    # Tarapacá
    (-19.60, -70.22),  # Pisagua
    (-20.00, -70.13),
    (-20.22, -70.16),  # Iquique
    (-20.60, -70.20),
    (-21.00, -70.17),
    (-21.43, -70.06),  # mouth of the Loa
    # Antofagasta
    (-21.80, -70.15),
    (-22.09, -70.21),  # Tocopilla
    (-22.50, -70.25),
    (-22.90, -70.29),  # Hornitos
    (-23.10, -70.44),  # Mejillones
    (-23.02, -70.52),  # Punta Angamos
    (-23.30, -70.60),
    (-23.52, -70.63),  # Punta Tetas
    (-23.60, -70.43),
    (-23.65, -70.40),  # Antofagasta
    (-24.00, -70.52),
    (-24.50, -70.56),
    (-25.00, -70.46),  # Paposo
    (-25.40, -70.49),  # Taltal
    (-25.95, -70.67),
    # Atacama
    (-26.35, -70.64),  # Chañaral
    (-26.80, -70.80),
    (-27.07, -70.84),  # Caldera
    (-27.55, -70.98),
    (-28.08, -71.16),  # Carrizal Bajo
    (-28.47, -71.23),  # Huasco
    (-28.90, -71.50),
    (-29.30, -71.48),
    # Coquimbo
    (-29.60, -71.35),
    (-29.90, -71.28),  # La Serena
    (-29.95, -71.37),  # Coquimbo
    (-30.25, -71.49),  # Tongoy
    (-30.22, -71.63),  # Punta Lengua de Vaca
    (-30.40, -71.68),
    (-30.70, -71.70),
    (-31.20, -71.65),
    (-31.60, -71.57),
    (-31.90, -71.52),  # Los Vilos
    (-32.15, -71.52),
    # Valparaíso
    (-32.50, -71.46),  # Zapallar
    (-32.93, -71.55),  # Concón
    (-33.03, -71.63),  # Valparaíso
    (-33.10, -71.75),  # Punta Curaumilla
    (-33.36, -71.68),  # Algarrobo
    (-33.60, -71.63),  # San Antonio
    (-33.92, -71.84),  # mouth of the Rapel
    # O'Higgins
    (-34.15, -71.95),
    (-34.39, -72.02),  # Pichilemu
    (-34.60, -72.04),
    (-34.80, -72.08),
    # Maule
    (-35.10, -72.20),
    (-35.33, -72.42),  # Constitución
    (-35.60, -72.55),
    (-35.85, -72.63),  # Curanipe
    (-36.05, -72.75),
    # Ñuble
    (-36.15, -72.80),  # Cobquecura
    (-36.45, -72.87),
    # Biobío
    (-36.62, -72.96),  # Tomé
    (-36.74, -73.00),  # Penco
    (-36.71, -73.11),  # Talcahuano
    (-36.61, -73.10),  # Punta Tumbes
    (-36.75, -73.17),
    (-36.82, -73.17),  # mouth of the Biobío
    (-37.03, -73.16),  # Coronel
    (-37.10, -73.16),  # Lota
    (-37.25, -73.32),  # Arauco (Golfo de Arauco)
    (-37.20, -73.48),
    (-37.15, -73.58),  # Punta Lavapié
    (-37.40, -73.66),
    (-37.60, -73.67),  # Lebu
    (-38.00, -73.52),
    (-38.35, -73.50),  # Tirúa
    (-38.45, -73.52),
    # La Araucanía
    (-38.75, -73.42),  # Puerto Saavedra
    (-39.10, -73.24),
    (-39.40, -73.22),  # Queule
    # Los Ríos
    (-39.65, -73.30),
    (-39.87, -73.43),  # Corral
    (-40.00, -73.72),  # Punta Galera
    (-40.15, -73.70),
    (-40.28, -73.73),
    # Los Lagos (mainland; Chiloé apart)
    (-40.60, -73.76),
    (-41.00, -73.93),
    (-41.40, -73.86),
    (-41.60, -73.75),
    (-41.76, -73.65),
    (-41.77, -73.35),  # Pargua (Canal de Chacao)
    (-41.65, -73.10),
    (-41.50, -72.95),  # Puerto Montt
    (-41.58, -72.55),  # Seno de Reloncaví
    (-41.75, -72.50),
    (-42.00, -72.52),  # Hornopirén
    (-42.40, -72.75),
    (-42.70, -72.85),
    (-42.92, -72.72),  # Chaitén
    (-43.25, -72.85),
    (-43.50, -72.95),
    (-43.75, -73.00),
    # Aysén (mainland; the Chonos apart)
    (-44.10, -73.10),
    (-44.30, -73.10),
    (-44.25, -72.65),  # Puyuhuapi
    (-44.40, -72.95),
    (-44.80, -73.30),
    (-45.30, -73.25),
    (-45.40, -72.75),  # Puerto Aysén
    (-45.45, -73.20),
    (-45.80, -73.45),
    (-46.25, -73.70),
    (-46.60, -73.88),  # Laguna San Rafael
    (-46.65, -74.05),  # Istmo de Ofqui
    (-46.35, -74.15),
    (-46.00, -74.40),
    (-45.92, -74.85),  # península de Taitao
    (-46.10, -75.15),
    (-46.45, -75.45),
    (-46.82, -75.62),  # Cabo Raper
    (-46.98, -75.45),  # Cabo Tres Montes
    (-46.85, -75.00),
    (-46.95, -74.60),
    (-47.20, -74.30),
    (-47.55, -74.20),  # Golfo de Penas
    (-47.75, -74.60),
    (-47.90, -75.10),
    (-48.10, -75.45),
    (-48.50, -75.60),
    (-48.90, -75.55),
    (-49.20, -75.55),
    # Magallanes (mainland; islands apart)
    (-49.60, -75.50),
    (-49.92, -75.45),
    (-49.98, -74.70),  # Canal Trinidad
    (-50.05, -75.40),
    (-50.40, -75.40),
    (-50.75, -75.30),
    (-50.85, -74.60),  # Canal Concepción
    (-50.95, -75.00),
    (-51.40, -74.90),
    (-51.65, -74.85),
    (-51.75, -73.90),  # Estrecho Nelson
    (-51.85, -74.85),
    (-52.20, -74.85),
    (-52.45, -74.60),  # western mouth of the Strait of Magellan
    (-52.65, -74.00),
    (-52.95, -73.40),
    (-53.25, -72.80),
    (-53.50, -72.20),
    (-53.70, -71.70),
    (-53.90, -71.30),  # Cabo Froward
    (-53.60, -70.95),
    (-53.16, -70.90),  # Punta Arenas
    (-52.95, -70.80),  # Cabo Negro
    (-52.65, -70.40),  # Segunda Angostura
    (-52.55, -69.95),
    (-52.48, -69.55),  # Primera Angostura
    (-52.30, -69.25),  # Bahía Posesión
    (-52.40, -68.44),  # Punta Dúngeness
]

EAST: list[Point] = [
    (-18.35, -70.38),  # Línea de la Concordia
    (-18.05, -70.05),
    (-17.75, -69.80),  # Tacora
    (-17.50, -69.48),  # tripoint Chile, Peru, Bolivia
    (-17.85, -69.33),
    (-18.15, -69.13),  # Parinacota
    (-18.55, -69.05),
    (-19.00, -68.90),
    (-19.40, -68.60),
    (-19.80, -68.50),
    (-20.30, -68.55),
    (-20.80, -68.50),
    (-21.05, -68.40),
    (-21.30, -68.18),  # Ollagüe
    (-21.75, -68.05),
    (-22.25, -67.90),
    (-22.83, -67.88),  # Licancabur
    (-22.85, -67.50),
    (-22.82, -67.18),  # Zapaleri, tripoint Chile, Bolivia, Argentina
    (-23.30, -67.10),
    (-23.85, -67.35),
    (-24.10, -67.75),
    (-24.40, -68.25),  # Socompa
    (-24.72, -68.54),  # Llullaillaco
    (-25.20, -68.45),
    (-25.60, -68.40),
    (-26.05, -68.35),
    (-26.50, -68.30),
    (-26.87, -68.30),  # Paso San Francisco
    (-27.11, -68.54),  # Ojos del Salado
    (-27.60, -68.85),
    (-28.05, -69.10),
    (-28.60, -69.55),
    (-29.00, -69.80),
    (-29.30, -69.95),
    (-29.75, -69.95),
    (-30.20, -69.83),  # Paso de Agua Negra
    (-30.70, -70.00),
    (-31.20, -70.30),
    (-31.70, -70.45),
    (-32.25, -70.30),
    (-32.65, -70.08),
    (-32.82, -70.08),  # Paso Los Libertadores
    (-32.93, -70.05),
    (-33.36, -69.78),  # Tupungato
    (-33.75, -69.90),
    (-34.16, -69.83),  # volcán Maipo
    (-34.50, -70.10),
    (-34.85, -70.35),
    (-35.20, -70.55),  # Paso Vergara (Planchón)
    (-35.60, -70.45),
    (-35.98, -70.40),  # Paso Pehuenche
    (-36.35, -70.60),
    (-36.80, -70.95),
    (-37.20, -71.10),
    (-37.50, -71.15),
    (-37.85, -71.16),  # Copahue
    (-38.10, -71.00),
    (-38.66, -70.90),  # Paso Pino Hachado
    (-39.00, -71.20),
    (-39.30, -71.40),
    (-39.64, -71.50),  # Lanín
    (-40.00, -71.70),
    (-40.50, -71.90),
    (-40.70, -71.95),  # Paso Cardenal Samoré
    (-41.16, -71.88),  # Tronador
    (-41.60, -71.85),
    (-42.10, -71.75),
    (-42.60, -71.85),
    (-43.18, -71.75),  # Futaleufú
    (-43.50, -71.80),
    (-43.80, -71.75),
    (-44.20, -71.80),
    (-44.60, -71.40),
    (-45.00, -71.50),
    (-45.48, -71.60),  # Coyhaique Alto
    (-46.00, -71.70),
    (-46.55, -71.70),  # Chile Chico
    (-47.00, -71.95),
    (-47.40, -72.10),
    (-47.90, -72.40),
    (-48.50, -72.60),
    (-48.90, -72.90),
    (-49.20, -73.10),  # Fitz Roy (Campo de Hielo Sur)
    (-49.70, -73.45),
    (-50.20, -73.45),
    (-50.60, -73.20),
    (-50.90, -72.60),
    (-51.25, -72.30),  # Cerro Castillo
    (-51.70, -72.30),
    (-52.00, -71.90),  # parallel 52° S
    (-52.00, -71.00),
    (-52.00, -70.00),
    (-52.12, -69.55),  # Monte Aymond
    (-52.40, -68.44),  # Punta Dúngeness
]

#: Lines between consecutive coastal regions, from a COAST point to an EAST point.
BOUNDARIES: dict[tuple[int, int], list[Point]] = {
    (15, 1): [(-19.20, -70.27), (-19.10, -69.60), (-19.00, -68.90)],
    (1, 2): [(-21.43, -70.06), (-21.62, -69.55), (-21.30, -68.90), (-21.05, -68.40)],
    (2, 3): [(-25.95, -70.67), (-26.00, -69.50), (-26.05, -68.35)],
    (3, 4): [(-29.30, -71.48), (-29.20, -70.70), (-29.30, -69.95)],
    (4, 5): [(-32.15, -71.52), (-32.25, -70.90), (-32.25, -70.30)],
    (6, 7): [(-34.80, -72.08), (-34.95, -71.40), (-34.95, -70.80), (-34.85, -70.35)],
    (7, 16): [(-36.05, -72.75), (-36.15, -72.20), (-36.30, -71.60), (-36.35, -70.60)],
    (16, 8): [(-36.45, -72.87), (-36.75, -72.50), (-37.05, -72.00), (-37.20, -71.10)],
    (8, 9): [(-38.45, -73.52), (-38.05, -73.15), (-37.75, -72.60), (-37.90, -71.80), (-38.10, -71.00)],
    (9, 14): [(-39.40, -73.22), (-39.45, -72.30), (-39.64, -71.50)],
    (14, 10): [(-40.28, -73.73), (-40.35, -72.60), (-40.50, -71.90)],
    (10, 11): [(-43.75, -73.00), (-43.75, -72.30), (-43.80, -71.75)],
    (11, 12): [(-49.20, -75.55), (-49.15, -74.30), (-49.20, -73.10)],
}
#: Valparaíso / O'Higgins on the coast: from the mouth of the Rapel to the Metropolitana's corner.
RAPEL: list[Point] = [(-33.92, -71.84), (-33.95, -71.60)]
#: The Metropolitana's western and northern limit (with Valparaíso), from that corner to the border.
METRO_NORTH: list[Point] = [
    (-33.95, -71.60),
    (-33.75, -71.68),
    (-33.45, -71.40),
    (-33.20, -71.10),
    (-32.98, -70.95),
    (-32.92, -70.60),
    (-32.95, -70.30),
    (-32.93, -70.05),
]
#: The Metropolitana's southern limit (with O'Higgins), from that corner to the border.
METRO_SOUTH: list[Point] = [
    (-33.95, -71.60),
    (-34.15, -71.30),
    (-34.05, -70.95),
    (-33.92, -70.72),  # Angostura de Paine
    (-34.05, -70.40),
    (-34.16, -69.83),  # volcán Maipo
]

ISLANDS: dict[int, list[list[Point]]] = {
    10: [
        [  # Isla Grande de Chiloé
            (-41.82, -73.88),
            (-42.00, -74.05),
            (-42.30, -74.17),
            (-42.62, -74.15),  # Cucao
            (-42.95, -74.30),
            (-43.20, -74.35),
            (-43.42, -74.05),
            (-43.30, -73.70),
            (-43.12, -73.60),  # Quellón
            (-42.80, -73.48),
            (-42.48, -73.75),  # Castro
            (-42.35, -73.55),
            (-42.12, -73.45),  # Quemchi
            (-41.87, -73.52),
            (-41.84, -73.60),  # Chacao
        ],
    ],
    11: [
        [  # Guaitecas and Chonos
            (-43.85, -73.70),
            (-43.90, -74.05),
            (-44.30, -74.40),
            (-44.70, -74.70),
            (-45.20, -74.75),
            (-45.60, -74.70),
            (-45.82, -74.45),
            (-45.75, -74.00),
            (-45.40, -73.80),
            (-44.90, -73.65),
            (-44.40, -73.55),
            (-44.00, -73.45),
        ],
    ],
    12: [
        [  # Tierra del Fuego, Chilean part
            (-52.66, -68.61),  # Cabo Espíritu Santo
            (-52.54, -68.75),  # Punta Catalina
            (-52.52, -69.25),
            (-52.60, -69.60),
            (-52.78, -70.40),
            (-53.05, -70.45),
            (-53.30, -70.37),  # Porvenir
            (-53.40, -69.90),
            (-53.45, -69.40),  # Bahía Inútil
            (-53.60, -69.75),
            (-53.65, -70.30),
            (-54.05, -70.15),
            (-54.30, -70.60),
            (-54.50, -71.30),
            (-54.75, -70.70),
            (-54.90, -69.80),
            (-54.88, -68.61),  # Canal Beagle
        ],
        [  # Desolación, Santa Inés, Clarence
            (-52.72, -74.70),  # Cabo Pilar
            (-52.80, -74.20),
            (-53.05, -73.50),
            (-53.40, -72.80),
            (-53.70, -72.20),
            (-53.95, -71.75),
            (-54.10, -71.35),
            (-54.30, -71.60),
            (-54.35, -72.20),
            (-54.10, -72.90),
            (-53.75, -73.60),
            (-53.35, -74.30),
            (-53.00, -74.80),
        ],
        [  # Navarino
            (-54.93, -68.35),
            (-54.92, -67.55),
            (-54.93, -67.20),
            (-55.10, -67.15),
            (-55.28, -67.30),
            (-55.30, -67.75),
            (-55.15, -68.10),
            (-55.08, -68.35),
        ],
        [  # Hoste
            (-54.97, -68.55),
            (-55.25, -68.40),
            (-55.70, -68.10),  # Falso Cabo de Hornos
            (-55.50, -68.75),
            (-55.30, -69.40),
            (-55.15, -69.95),
            (-55.00, -69.90),
            (-54.98, -69.20),
        ],
        [  # Wollaston, Hermite, Hornos
            (-55.45, -67.50),
            (-55.60, -67.20),
            (-55.98, -67.27),  # Cabo de Hornos
            (-55.90, -67.60),
            (-55.65, -67.80),
        ],
        [  # Picton, Lennox, Nueva
            (-55.00, -66.90),
            (-55.15, -66.50),
            (-55.32, -66.55),
            (-55.35, -66.90),
            (-55.18, -66.98),
        ],
    ],
}


def _between(line: list[Point], start: Point, end: Point) -> list[Point]:
    """The points of ``line`` from ``start`` to ``end`` (both included, in either direction)."""
    i, j = line.index(start), line.index(end)
    return line[i : j + 1] if i <= j else line[j : i + 1][::-1]


def _ring(points: list[Point]) -> list[Point]:
    """A closed ring without repeated consecutive points."""
    ring = [p for index, p in enumerate(points) if index == 0 or p != points[index - 1]]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def mainland() -> dict[int, list[Point]]:
    """Each region's mainland polygon (closed ring, lat/lon)."""
    south_line: dict[int, list[Point]] = {}
    north_line: dict[int, list[Point]] = {}
    for (north, south), line in BOUNDARIES.items():
        south_line[north] = line
        north_line[south] = line
    south_line[5] = RAPEL + METRO_NORTH[1:]
    north_line[6] = RAPEL + METRO_SOUTH[1:]
    north_line[STRIP[0]] = [COAST[0]]
    south_line[STRIP[-1]] = [COAST[-1]]
    assert COAST[0] == EAST[0] and COAST[-1] == EAST[-1]
    rings = {}
    for code in STRIP:
        top, bottom = north_line[code], south_line[code]
        coast = _between(COAST, top[0], bottom[0])
        east = _between(EAST, bottom[-1], top[-1])
        rings[code] = _ring(coast + bottom + east + top[::-1])
    rings[13] = _ring(METRO_NORTH + _between(EAST, METRO_NORTH[-1], METRO_SOUTH[-1]) + METRO_SOUTH[::-1])
    return rings


def _cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segments ab and cd cross at a point inside both (touching ends do not count)."""

    def orient(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    if len({a, b, c, d}) < 4:
        return False
    d1, d2, d3, d4 = orient(c, d, a), orient(c, d, b), orient(a, b, c), orient(a, b, d)
    return d1 * d2 < 0 and d3 * d4 < 0


def _edges(ring: list[Point]) -> list[tuple[Point, Point]]:
    return list(itertools.pairwise(ring))


def _inside(point: Point, ring: list[Point]) -> bool:
    lat, lon = point
    inside = False
    for (lat1, lon1), (lat2, lon2) in _edges(ring):
        if (lat1 > lat) != (lat2 > lat) and lon < lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1):
            inside = not inside
    return inside


def check(polygons: list[tuple[int, list[Point]]]) -> None:
    """No polygon crosses itself or another, and none lies inside another."""
    for code, ring in polygons:
        assert len(set(ring)) == len(ring) - 1, f"region {code}: a point is repeated"
        edges = _edges(ring)
        for (i, e), (j, f) in itertools.combinations(enumerate(edges), 2):
            assert not _cross(*e, *f), f"region {code}: edges {i} and {j} cross"
    for (code_a, a), (code_b, b) in itertools.combinations(polygons, 2):
        for e in _edges(a):
            for f in _edges(b):
                assert not _cross(*e, *f), f"regions {code_a} and {code_b} overlap near {e}"
        shared = set(a) & set(b)
        assert not any(_inside(p, b) for p in a if p not in shared), f"{code_a} inside {code_b}"
        assert not any(_inside(p, a) for p in b if p not in shared), f"{code_b} inside {code_a}"


def build() -> dict:
    rings = mainland()
    polygons = [(code, ring) for code, ring in rings.items()]
    polygons += [(code, _ring(island)) for code, islands in ISLANDS.items() for island in islands]
    check(polygons)
    regions = {}
    for code, name in NAMES.items():
        parts = [ring for c, ring in polygons if c == code]
        regions[str(code)] = {"name": name, "polygons": [[[lon, lat] for lat, lon in ring] for ring in parts]}
    return {
        "source": SOURCE,
        "licence": LICENCE,
        "coordinates": "[longitud, latitud] en grados WGS84; cada polígono es un anillo cerrado",
        "regions": regions,
    }


def dump(document: dict) -> str:
    """JSON with one polygon per line: small, and readable in a diff."""
    head = {key: value for key, value in document.items() if key != "regions"}
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}," for key, value in head.items()]
    lines.append('  "regions": {')
    items = list(document["regions"].items())
    for index, (code, region) in enumerate(items):
        lines.append(f'    "{code}": {{"name": {json.dumps(region["name"], ensure_ascii=False)}, "polygons": [')
        polys = [json.dumps(ring, separators=(",", ":")) for ring in region["polygons"]]
        lines.append(",\n".join(f"      {p}" for p in polys))
        lines.append("    ]}" + ("," if index < len(items) - 1 else ""))
    lines += ["  }", "}", ""]
    text = "\n".join(lines)
    assert json.loads(text) == document
    return text


if __name__ == "__main__":
    OUTPUT.write_text(dump(build()), encoding="utf-8")
    print(f"{OUTPUT} ({OUTPUT.stat().st_size} bytes)")
