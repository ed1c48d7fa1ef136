"""Expert face validity of the national questionnaire 2027.1 (questionnaires/nacional-2027.1.yaml).

Each archetype is an answer set written from a realistic cooperative profile, with the lights
an ODEPA analyst would expect written down *before* scoring (overall and every dimension, plus
the subcategories that explain the result). docs/methodology.md, section 10.8, explains why each
one comes out as it does. Scoring is method 2 (shared/spec/scoring.md): "ns" is missing data,
a critical failure makes its dimension red.

If an archetype fails after a change to the questionnaire, fix the questionnaire design; change
an expectation only if it was not what an analyst would defend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import scoring
from reference_scorer import reference_score

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRE = ROOT / "questionnaires" / "nacional-2027.1.yaml"

COOP = "cooperativa_constituida"
GRUPO = "grupo_precooperativo"

DIMENSIONS = ["perfil", "gestion_financiera", "gobernanza", "negocio", "principios"]
SUBCATEGORIES = {
    "perfil": ["perfil_organizacion", "empleo", "programas_publicos"],
    "gestion_financiera": ["contabilidad", "liquidez_solvencia", "resultados", "financiamiento"],
    "gobernanza": [
        "situacion_legal",
        "junta_general",
        "consejo_administracion",
        "control_interno",
        "genero_generaciones",
    ],
    "negocio": ["planificacion", "servicios_socios", "mercados", "calidad_riesgos", "sostenibilidad", "digitalizacion"],
    "principios": [
        "adhesion_control_democratico",
        "participacion_economica",
        "autonomia",
        "educacion",
        "intercooperacion_comunidad",
    ],
}
CRITICAL = {
    "contabilidad_formal",
    "balance_aprobado",
    "vigente_daes",
    "registro_socios",
    "junta_realizada",
    "consejo_vigente",
    "concentracion_capital",
}


@pytest.fixture(scope="module")
def q2027() -> scoring.Questionnaire:
    return scoring.load_questionnaire(QUESTIONNAIRE.read_text(encoding="utf-8"), source=QUESTIONNAIRE.name)


@pytest.fixture(scope="module")
def raw2027() -> dict:
    return yaml.safe_load(QUESTIONNAIRE.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# Archetypes


def grande_bien_gestionada() -> dict:
    """Cooperativa lechera del sur (1968): 380 personas socias, planta quesera propia, gerenta
    contratada, balance auditado, vende a supermercados con marca propia. Solo flojea en
    participación de mujeres y jóvenes, como la mayoría de las cooperativas lecheras."""
    return {
        "tipo_organizacion": COOP,
        "clase_cooperativa": "agricola",
        "anio_inicio": 1968,
        "productos": ["leche_lacteos", "ganaderia_carne"],
        "socios_total": 380,
        "socias_mujeres": 110,
        "socios_hombres": 270,
        "socios_menores_35": 57,
        "socios_nuevos_3_anios": 46,
        "socios_organizaciones": 12,
        "trabajadores_permanentes": 85,
        "trabajadoras_permanentes": 22,
        "trabajadores_temporada": 40,
        "trabajadoras_temporada": 18,
        "programas_usados": ["indap", "corfo", "fia", "prochile", "bancoestado"],
        "programas_detalle": "CORFO Red Asociativa Agro+ 2023; FIA, innovación en quesos maduros",
        # contabilidad
        "contabilidad_formal": True,
        "cuenta_bancaria": True,
        "estados_financieros": "balance_completo",
        "balance_aprobado": "aprobado_en_plazo",
        "presupuesto": "se_elabora_y_controla",
        "auditoria_externa": "auditoria",
        # liquidez y solvencia (pesos)
        "activo_corriente": 6_400_000_000,
        "pasivo_corriente": 3_400_000_000,
        "activo_total": 18_500_000_000,
        "pasivo_total": 6_900_000_000,
        "capital_suscrito": 4_000_000_000,
        "capital_pagado": 3_720_000_000,
        "perdidas_acumuladas": False,
        # resultados
        "ventas": 24_000_000_000,
        "costos_operacionales": 22_700_000_000,
        "excedente": 1_150_000_000,
        "resultados_ultimos_anios": "todos_excedente",
        "reserva_legal": True,
        # financiamiento: casi todo el subsidio fue para inversión (planta de suero)
        "subsidios_total": 420_000_000,
        "subsidios_inversion": 380_000_000,
        "pago_creditos": "al_dia",
        "ahorro_reservas": "suficiente",
        # gobernanza
        "vigente_daes": True,
        "informacion_daes": "en_plazo",
        "registro_socios": True,
        "obligaciones_tributarias": True,
        "junta_realizada": True,
        "asistentes_junta": 171,
        "libro_actas": "siempre",
        "memoria_anual": True,
        "consejo_vigente": True,
        "reuniones_consejo": "mensual",
        "roles_definidos": "por_escrito",
        "conflicto_interes": True,
        "renovacion_dirigentes": "hubo_renovacion",
        "gerencia": "gerente_remunerado",
        "informe_vigilancia": "informe_escrito",
        "reglamentos_internos": True,
        "doble_firma": True,
        "integrantes_consejo": 7,
        "mujeres_consejo": 2,
        "integrantes_vigilancia": 3,
        "mujeres_vigilancia": 1,
        "presidencia_mujer": False,
        "gerencia_mujer": True,
        "jovenes_en_cargos": True,
        "acciones_inclusion": "acciones_ocasionales",
        # negocio
        "plan_negocios": "vigente_con_seguimiento",
        "seguimiento_metas": "regularmente",
        "catastro_productivo": "catastro_al_dia",
        "servicios_ofrecidos": ["comercializacion", "insumos", "asistencia_tecnica", "logistica"],
        "socios_que_operaron": 342,
        "entrega_produccion_socios": 85,
        "negocio_con_terceros": 12,
        "precio_socios": "mayor",
        "pago_oportuno": "siempre",
        "compromisos_entrega": "escritos",
        "satisfaccion_socios": "consulta_formal",
        "canales_venta": ["agroindustria", "supermercados_mayoristas", "comercio_local"],
        "exportaciones": "exporta_terceros",
        "valor_agregado": "procesado_marca",
        "principal_comprador": 35,
        "contratos_compradores": "mayoria",
        "informacion_mercado": "siempre",
        "autorizaciones": "todas",
        "control_calidad": "normas_y_control",
        "inventario_trazabilidad": "registro_completo",
        "gestion_riesgos": "cubre_principales",
        "practicas_ambientales": ["manejo_residuos", "conservacion_suelos", "manejo_plagas"],
        "certificaciones": ["bpa_globalgap", "inocuidad"],
        "uso_agua": "algunos",
        "energia": "en_proyecto",
        "software_contable": "sistema_contable",
        "venta_online": "ocasionalmente",
        "comunicacion_digital": "todos",
        # principios
        "requisitos_ingreso": "escritos_abiertos",
        "un_socio_un_voto": True,
        "elecciones_abiertas": True,
        "concentracion_capital": False,
        "distribucion_excedentes": "segun_operaciones",
        "aportes_equitativos": True,
        "devolucion_aportes": "en_plazo",
        "decisiones_autonomas": "siempre",
        "acuerdos_externos": "siempre",
        "independencia_politica": True,
        "capacitacion_socios": "varias",
        "formacion_dirigentes": True,
        "informacion_socios": "regularmente",
        "red_cooperativas": True,
        "negocios_intercooperativos": True,
        "acciones_comunidad": ["actividades_comunitarias", "empleo_local"],
    }


def dormida() -> dict:
    """Cooperativa campesina apícola (2009) sin actividad desde hace tres años: 23 socios en el
    papel, sin contabilidad, sin junta, consejo vencido, no vigente en DAES, un crédito INDAP
    moroso. Quien responde es el último presidente."""
    return {
        "tipo_organizacion": COOP,
        "clase_cooperativa": "campesina",
        "anio_inicio": 2009,
        "productos": ["apicola"],
        "socios_total": 23,
        "socias_mujeres": 4,
        "socios_hombres": 19,
        "socios_menores_35": 0,
        "socios_nuevos_3_anios": 0,
        "socios_organizaciones": 0,
        "trabajadores_permanentes": 0,
        "trabajadoras_permanentes": 0,
        "trabajadores_temporada": 0,
        "trabajadoras_temporada": 0,
        "programas_usados": ["indap"],
        "contabilidad_formal": False,
        "cuenta_bancaria": True,
        "estados_financieros": "ninguna",
        "balance_aprobado": "no_aprobado",
        "presupuesto": "no_se_elabora",
        "auditoria_externa": "sin_revision",
        "resultados_ultimos_anios": "mayoria_perdida",
        "pago_creditos": "morosa",
        "ahorro_reservas": "sin_fondo",
        "vigente_daes": False,
        "informacion_daes": "no_enviada",
        "registro_socios": False,
        "obligaciones_tributarias": False,
        "junta_realizada": False,
        "libro_actas": "a_veces",
        "memoria_anual": False,
        "consejo_vigente": False,
        "reuniones_consejo": "rara_vez",
        "roles_definidos": "no_definido",
        "conflicto_interes": False,
        "renovacion_dirigentes": "no_siempre_los_mismos",
        "gerencia": "nadie",
        "informe_vigilancia": "no_reviso",
        "reglamentos_internos": False,
        "doble_firma": False,
        "integrantes_consejo": 3,
        "mujeres_consejo": 0,
        "integrantes_vigilancia": 0,
        "mujeres_vigilancia": 0,
        "presidencia_mujer": False,
        "jovenes_en_cargos": False,
        "acciones_inclusion": "sin_acciones",
        "plan_negocios": "sin_plan",
        "seguimiento_metas": "nunca",
        "catastro_productivo": "no_se_sabe",
        "servicios_ofrecidos": ["ninguno"],
        "socios_que_operaron": 0,
        "entrega_produccion_socios": "na",
        "negocio_con_terceros": "na",
        "precio_socios": "na",
        "pago_oportuno": "na",
        "compromisos_entrega": "na",
        "satisfaccion_socios": "no_consulta",
        "canales_venta": ["no_vende"],
        "exportaciones": "no_exporta",
        "valor_agregado": "na",
        "principal_comprador": "na",
        "contratos_compradores": "na",
        "informacion_mercado": "nunca",
        "autorizaciones": "en_tramite",
        "control_calidad": "na",
        "inventario_trazabilidad": "sin_registro",
        "gestion_riesgos": "sin_medidas",
        "practicas_ambientales": ["ninguna"],
        "certificaciones": ["ninguna"],
        "uso_agua": "na",
        "energia": "no_usa",
        "software_contable": "papel",
        "venta_online": "no_vende",
        "comunicacion_digital": "parte",
        "requisitos_ingreso": "no_escritos",
        "un_socio_un_voto": True,
        "elecciones_abiertas": False,
        "concentracion_capital": False,
        "distribucion_excedentes": "segun_operaciones",
        "aportes_equitativos": True,
        "devolucion_aportes": "no_se_devuelven",
        "decisiones_autonomas": "siempre",
        "acuerdos_externos": "na",
        "independencia_politica": True,
        "capacitacion_socios": "ninguna",
        "formacion_dirigentes": False,
        "informacion_socios": "no_informa",
        "red_cooperativas": False,
        "negocios_intercooperativos": False,
        "acciones_comunidad": ["ninguna"],
    }


def grupo_precooperativo() -> dict:
    """Doce hortaliceras y hortaliceros de secano costero que venden juntos desde 2024 (canastas,
    almacenes, una licitación municipal), con apoyo de INDAP y FOSIS. Cuaderno de cuentas al día,
    asamblea mensual, presidenta; sin gerente, sin plan de negocios escrito, sin certificaciones."""
    return {
        "tipo_organizacion": GRUPO,
        "anio_inicio": 2024,
        "productos": ["hortalizas"],
        "socios_total": 12,
        "socias_mujeres": 7,
        "socios_hombres": 5,
        "socios_menores_35": 3,
        "socios_nuevos_3_anios": 12,
        "trabajadores_permanentes": 0,
        "trabajadoras_permanentes": 0,
        "trabajadores_temporada": 0,
        "trabajadoras_temporada": 0,
        "programas_usados": ["indap", "fosis"],
        "fondos_grupo": "separado_con_rendicion",
        "registros_grupo": "registro_ordenado",
        "presupuesto": "se_elabora",
        "ventas": 18_500_000,
        "costos_operacionales": 16_900_000,
        "excedente": 1_600_000,
        "resultados_ultimos_anios": "alguno_perdida",
        "subsidios_total": 6_000_000,
        "subsidios_inversion": 5_000_000,
        "pago_creditos": "na",
        "ahorro_reservas": "pequeno",
        "lista_integrantes": True,
        "camino_formalizacion": "en_evaluacion",
        "asamblea_grupo": True,
        "asistentes_junta": 10,
        "libro_actas": "a_veces",
        "memoria_anual": True,
        "directiva_elegida": "elegida_con_plazo",
        "reuniones_consejo": "mensual",
        "roles_definidos": "acordado_verbal",
        "conflicto_interes": False,
        "renovacion_dirigentes": "na",
        "reglamentos_internos": True,
        "doble_firma": True,
        "integrantes_consejo": 3,
        "mujeres_consejo": 2,
        "presidencia_mujer": True,
        "jovenes_en_cargos": False,
        "acciones_inclusion": "acciones_ocasionales",
        "plan_trabajo_grupo": "plan_conversado",
        "seguimiento_metas": "ocasionalmente",
        "catastro_productivo": "aproximado",
        "servicios_ofrecidos": ["comercializacion", "insumos"],
        "socios_que_operaron": 11,
        "entrega_produccion_socios": 50,
        "negocio_con_terceros": 0,
        "precio_socios": "mayor",
        "pago_oportuno": "siempre",
        "compromisos_entrega": "verbales",
        "satisfaccion_socios": "consulta_informal",
        "canales_venta": ["venta_directa", "comercio_local", "compras_publicas"],
        "exportaciones": "no_exporta",
        "valor_agregado": "seleccionado_embalado",
        "principal_comprador": 35,
        "contratos_compradores": "algunas",
        "informacion_mercado": "a_veces",
        "autorizaciones": "en_tramite",
        "control_calidad": "control_visual",
        "inventario_trazabilidad": "registro_parcial",
        "gestion_riesgos": "cubre_algunos",
        "practicas_ambientales": ["conservacion_suelos", "manejo_plagas"],
        "uso_agua": "mayoria",
        "energia": "no_usa",
        "software_contable": "planilla",
        "venta_online": "regularmente",
        "comunicacion_digital": "todos",
        "requisitos_ingreso": "no_escritos",
        "un_socio_un_voto": True,
        "elecciones_abiertas": True,
        "distribucion_excedentes": "partes_iguales",
        "aportes_equitativos": True,
        "aportes_grupo": "casi_todos",
        "decisiones_autonomas": "siempre",
        "acuerdos_externos": "na",
        "independencia_politica": True,
        "capacitacion_socios": "varias",
        "formacion_dirigentes": True,
        "informacion_socios": "regularmente",
        "negocios_intercooperativos": False,
        "acciones_comunidad": ["empleo_local", "actividades_comunitarias"],
    }


def empresa_privada() -> dict:
    """Frutícola exportadora (1994) con la forma de cooperativa: cuatro familias tienen casi todo
    el capital (una sobre el 20 %), se vota según capital, el 75 % de la fruta se compra a
    terceros, los socios entregan solo el 20 % de lo suyo y reciben el precio de mercado. Papeles,
    finanzas y planta impecables."""
    a = grande_bien_gestionada()
    a.update(
        {
            "productos": ["frutas"],
            "anio_inicio": 1994,
            "socios_total": 40,
            "socias_mujeres": 3,
            "socios_hombres": 37,
            "socios_menores_35": 2,
            "socios_nuevos_3_anios": 0,
            "socios_organizaciones": 6,
            "trabajadores_permanentes": 60,
            "trabajadoras_permanentes": 25,
            "trabajadores_temporada": 450,
            "trabajadoras_temporada": 300,
            "programas_usados": ["corfo", "prochile"],
            "programas_detalle": "",
            "activo_corriente": 5_100_000_000,
            "pasivo_corriente": 2_900_000_000,
            "activo_total": 12_000_000_000,
            "pasivo_total": 4_300_000_000,
            "capital_suscrito": 2_000_000_000,
            "capital_pagado": 2_000_000_000,
            "ventas": 21_000_000_000,
            "costos_operacionales": 19_400_000_000,
            "excedente": 1_250_000_000,
            "subsidios_total": 0,
            "subsidios_inversion": 0,
            "asistentes_junta": 9,
            "renovacion_dirigentes": "no_siempre_los_mismos",
            "integrantes_consejo": 5,
            "mujeres_consejo": 0,
            "integrantes_vigilancia": 3,
            "mujeres_vigilancia": 0,
            "presidencia_mujer": False,
            "gerencia_mujer": False,
            "jovenes_en_cargos": False,
            "acciones_inclusion": "sin_acciones",
            "servicios_ofrecidos": ["comercializacion", "logistica"],
            "socios_que_operaron": 14,
            "entrega_produccion_socios": 20,
            "negocio_con_terceros": 75,
            "precio_socios": "similar",
            "compromisos_entrega": "sin_compromisos",
            "satisfaccion_socios": "no_consulta",
            "canales_venta": ["agroindustria"],
            "exportaciones": "exporta_directo",
            "valor_agregado": "seleccionado_embalado",
            "principal_comprador": 30,
            "requisitos_ingreso": "restrictivos",
            "un_socio_un_voto": False,
            "elecciones_abiertas": False,
            "concentracion_capital": True,
            "distribucion_excedentes": "segun_capital_o_sin_criterio",
            "aportes_equitativos": False,
            "devolucion_aportes": "na",
            "capacitacion_socios": "ninguna",
            "formacion_dirigentes": False,
            "informacion_socios": "ocasionalmente",
            "red_cooperativas": False,
            "negocios_intercooperativos": False,
            "acciones_comunidad": ["empleo_local"],
        }
    )
    return a


def falla_legal() -> dict:
    """Cooperativa vitivinícola (1957) de 60 socios con buen negocio y finanzas sanas, pero sin
    junta general desde 2023 por un conflicto interno: no figura vigente en DAES, el consejo
    tiene el mandato vencido y el balance del último ejercicio no se aprobó."""
    a = grande_bien_gestionada()
    a.update(
        {
            "productos": ["vino_uva"],
            "anio_inicio": 1957,
            "socios_total": 60,
            "socias_mujeres": 14,
            "socios_hombres": 46,
            "socios_menores_35": 5,
            "socios_nuevos_3_anios": 4,
            "socios_organizaciones": 2,
            "trabajadores_permanentes": 12,
            "trabajadoras_permanentes": 4,
            "trabajadores_temporada": 30,
            "trabajadoras_temporada": 12,
            "activo_corriente": 900_000_000,
            "pasivo_corriente": 520_000_000,
            "activo_total": 2_600_000_000,
            "pasivo_total": 1_100_000_000,
            "capital_suscrito": 400_000_000,
            "capital_pagado": 350_000_000,
            "ventas": 2_300_000_000,
            "costos_operacionales": 2_150_000_000,
            "excedente": 120_000_000,
            "auditoria_externa": "sin_revision",
            "subsidios_total": 0,
            "subsidios_inversion": 0,
            "balance_aprobado": "no_aprobado",
            "vigente_daes": False,
            "informacion_daes": "no_enviada",
            "registro_socios": True,
            "junta_realizada": False,
            "libro_actas": "siempre",
            "memoria_anual": False,
            "consejo_vigente": False,
            "informe_vigilancia": "revision_sin_informe",
            "integrantes_consejo": 5,
            "mujeres_consejo": 1,
            "integrantes_vigilancia": 3,
            "mujeres_vigilancia": 1,
            "presidencia_mujer": False,
            "gerencia_mujer": False,
            "acciones_inclusion": "sin_acciones",
            "jovenes_en_cargos": False,
            "renovacion_dirigentes": "no_siempre_los_mismos",
            "socios_que_operaron": 52,
            "entrega_produccion_socios": 80,
            "negocio_con_terceros": 10,
            "principal_comprador": 55,
            "valor_agregado": "procesado_marca",
            "canales_venta": ["supermercados_mayoristas", "comercio_local", "venta_directa"],
            "certificaciones": ["sello_campesino"],
            "capacitacion_socios": "una",
            "informacion_socios": "ocasionalmente",
        }
    )
    del a["asistentes_junta"]  # no hubo junta: la pregunta no se muestra
    return a


def mayormente_no_sabe(raw: dict) -> dict:
    """Entrevista de terreno a un socio que no maneja la información: sabe que es una cooperativa
    de cereales de unas 35 personas, que hubo junta y que se levanta acta; a todo lo demás
    responde «No sé»."""
    answers = {
        q["id"]: "ns"
        for dim in raw["dimensions"]
        for sub in dim["subcategories"]
        for q in sub["questions"]
        if q["type"] != "computed"
    }
    answers.update(
        {
            "tipo_organizacion": COOP,
            "productos": ["cereales_legumbres"],
            "socios_total": 35,
            "junta_realizada": True,
            "libro_actas": "siempre",
        }
    )
    return answers


def en_los_umbrales() -> dict:
    """La cooperativa grande con cada indicador con bandas exactamente en el borde que abre su
    banda mejor (el mínimo de una banda se incluye)."""
    a = grande_bien_gestionada()
    a.update(
        {
            "activo_corriente": 1_425_000_000,
            "pasivo_corriente": 950_000_000,  # liquidez 1,5
            "activo_total": 5_000_000_000,
            "pasivo_total": 2_000_000_000,  # autonomía 0,6
            "capital_suscrito": 1_000_000_000,
            "capital_pagado": 800_000_000,  # 0,8
            "ventas": 4_000_000_000,
            "costos_operacionales": 3_800_000_000,  # margen 0,05; 1,5 meses
            "excedente": 150_000_000,
            "subsidios_total": 1_300_000_000,
            "subsidios_inversion": 300_000_000,  # dependencia 0,2
            "socios_total": 50,
            "socias_mujeres": 20,
            "socios_hombres": 30,  # 0,4
            "socios_menores_35": 10,
            "socios_nuevos_3_anios": 5,  # 0,2 y 0,1
            "asistentes_junta": 25,
            "socios_que_operaron": 40,  # 0,5 y 0,8
            "integrantes_consejo": 5,
            "mujeres_consejo": 2,  # 0,4
            "integrantes_vigilancia": 5,
            "mujeres_vigilancia": 2,  # 0,4
            "entrega_produccion_socios": 70,
            "negocio_con_terceros": 25,
            "principal_comprador": 40,
        }
    )
    return a


def en_los_umbrales_bajos() -> dict:
    """Lo mismo en el borde entre la banda peor y la del medio."""
    a = grande_bien_gestionada()
    a.update(
        {
            "activo_corriente": 1_050_000_000,
            "pasivo_corriente": 1_000_000_000,  # liquidez 1,05
            "activo_total": 5_000_000_000,
            "pasivo_total": 3_000_000_000,  # autonomía 0,4
            "capital_suscrito": 1_000_000_000,
            "capital_pagado": 500_000_000,  # 0,5
            "ventas": 1_200_000_000,
            "costos_operacionales": 1_200_000_000,  # margen 0; 0,5 meses
            "excedente": 10_000_000,
            "subsidios_total": 1_500_000_000,
            "subsidios_inversion": 300_000_000,  # dependencia 0,5
            "socios_total": 100,
            "socias_mujeres": 20,
            "socios_hombres": 80,  # 0,2
            "socios_menores_35": 10,
            "socios_nuevos_3_anios": 3,  # 0,1 y 0,03
            "asistentes_junta": 30,
            "socios_que_operaron": 50,  # 0,3 y 0,5
            "integrantes_consejo": 10,
            "mujeres_consejo": 1,  # 0,1
            "integrantes_vigilancia": 10,
            "mujeres_vigilancia": 1,  # 0,1
            "entrega_produccion_socios": 30,
            "negocio_con_terceros": 50,
            "principal_comprador": 70,
        }
    )
    return a


# Every question that accepts «no aplica» (na: true) and applies to a cooperative.
NA_FOR_COOPERATIVES = [
    "balance_aprobado",
    "resultados_ultimos_anios",
    "reserva_legal",
    "pago_creditos",
    "renovacion_dirigentes",
    "entrega_produccion_socios",
    "negocio_con_terceros",
    "precio_socios",
    "pago_oportuno",
    "compromisos_entrega",
    "valor_agregado",
    "principal_comprador",
    "contratos_compradores",
    "autorizaciones",
    "control_calidad",
    "uso_agua",
    "venta_online",
    "distribucion_excedentes",
    "devolucion_aportes",
    "acuerdos_externos",
]


def todo_no_aplica() -> dict:
    """La cooperativa grande respondiendo «no aplica» en todas las preguntas que lo admiten."""
    a = grande_bien_gestionada()
    a.update({qid: "na" for qid in NA_FOR_COOPERATIVES})
    return a


# Expected lights: overall, each dimension, then the subcategories that explain the result.
EXPECTED = {
    "grande_bien_gestionada": {
        "overall": "green",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "green",
            "gobernanza": "green",
            "negocio": "green",
            "principios": "green",
        },
        "subcategories": {"genero_generaciones": "yellow"},
    },
    "dormida": {
        "overall": "red",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "red",
            "gobernanza": "red",
            "negocio": "red",
            "principios": "red",
        },
        "subcategories": {
            "contabilidad": "red",
            "liquidez_solvencia": "not_applicable",
            "situacion_legal": "red",
            "junta_general": "red",
            "consejo_administracion": "red",
            "servicios_socios": "red",
            "autonomia": "green",
        },
    },
    "grupo_precooperativo": {
        "overall": "yellow",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "green",
            "gobernanza": "green",
            "negocio": "yellow",
            "principios": "green",
        },
        "subcategories": {
            "contabilidad": "green",
            "liquidez_solvencia": "not_applicable",
            "situacion_legal": "green",
            "genero_generaciones": "green",
            "planificacion": "yellow",
            "calidad_riesgos": "yellow",
            "sostenibilidad": "yellow",
        },
    },
    "empresa_privada": {
        "overall": "yellow",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "green",
            "gobernanza": "yellow",
            "negocio": "yellow",
            "principios": "red",
        },
        "subcategories": {
            "servicios_socios": "red",
            "adhesion_control_democratico": "red",
            "participacion_economica": "red",
            "genero_generaciones": "red",
            "situacion_legal": "green",
            "mercados": "green",
        },
    },
    "falla_legal": {
        "overall": "yellow",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "red",
            "gobernanza": "red",
            "negocio": "green",
            "principios": "green",
        },
        "subcategories": {
            "situacion_legal": "red",
            "junta_general": "red",
            "consejo_administracion": "red",
            "contabilidad": "red",
            "liquidez_solvencia": "green",
        },
    },
    "mayormente_no_sabe": {
        "overall": "insufficient_data",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "insufficient_data",
            "gobernanza": "insufficient_data",
            "negocio": "insufficient_data",
            "principios": "insufficient_data",
        },
        "subcategories": {"situacion_legal": "insufficient_data", "junta_general": "green"},
    },
    "en_los_umbrales": {
        "overall": "green",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "green",
            "gobernanza": "green",
            "negocio": "green",
            "principios": "green",
        },
        # dependencia 0,2 cae en la banda del medio: financiamiento (0,5·2 + 1·2 + 1) / 5 = 0,80,
        # exactamente el umbral verde, que se incluye
        "subcategories": {
            "liquidez_solvencia": "green",
            "financiamiento": "green",
            "genero_generaciones": "green",
            "mercados": "green",
        },
    },
    "en_los_umbrales_bajos": {
        "overall": "green",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "yellow",
            "gobernanza": "green",
            "negocio": "green",
            "principios": "green",
        },
        "subcategories": {
            "liquidez_solvencia": "yellow",
            "resultados": "yellow",
            "financiamiento": "yellow",
            "genero_generaciones": "yellow",
            "servicios_socios": "yellow",
            "mercados": "yellow",
        },
    },
    "todo_no_aplica": {
        "overall": "green",
        "dimensions": {
            "perfil": "not_applicable",
            "gestion_financiera": "green",
            "gobernanza": "green",
            "negocio": "green",
            "principios": "green",
        },
        "subcategories": {"contabilidad": "green", "mercados": "green", "calidad_riesgos": "green"},
    },
}

BUILDERS = {
    "grande_bien_gestionada": grande_bien_gestionada,
    "dormida": dormida,
    "grupo_precooperativo": grupo_precooperativo,
    "empresa_privada": empresa_privada,
    "falla_legal": falla_legal,
    "en_los_umbrales": en_los_umbrales,
    "en_los_umbrales_bajos": en_los_umbrales_bajos,
    "todo_no_aplica": todo_no_aplica,
}


def archetype(name: str, raw: dict) -> dict:
    return mayormente_no_sabe(raw) if name == "mayormente_no_sabe" else BUILDERS[name]()


def by_id(result: dict) -> tuple[dict, dict, dict]:
    dims = {d["id"]: d for d in result["dimensions"]}
    subs = {s["id"]: s for d in result["dimensions"] for s in d["subcategories"]}
    questions = {qq["id"]: qq for s in subs.values() for qq in s["questions"]}
    return dims, subs, questions


# --------------------------------------------------------------------------
# The archetypes against the expert's expectations


@pytest.mark.parametrize("name", list(EXPECTED))
def test_archetype_is_valid_complete_and_consistent(q2027, raw2027, name):
    answers = archetype(name, raw2027)
    assert scoring.validate_answers(q2027, answers) == []
    assert scoring.missing_required(q2027, answers) == [], "a submitted response answers every relevant question"
    assert [c.id for c in scoring.failed_checks(q2027, answers)] == []


@pytest.mark.parametrize("name", list(EXPECTED))
def test_archetype_gets_the_lights_an_expert_expects(q2027, raw2027, name):
    answers = archetype(name, raw2027)
    result = scoring.score(q2027, answers).to_dict()
    assert result["method"] == 2
    expected = EXPECTED[name]
    dims, subs, _ = by_id(result)
    got = {
        "overall": result["overall"]["light"],
        "dimensions": {d: dims[d]["light"] for d in expected["dimensions"]},
        "subcategories": {s: subs[s]["light"] for s in expected["subcategories"]},
    }
    assert got == expected
    # the independent reference implementation of scoring.md agrees on every light and score
    reference = reference_score(raw2027, answers)
    assert reference["overall"] == {k: result["overall"][k] for k in ("score", "light", "coverage")}
    for ref_dim, dim in zip(reference["dimensions"], result["dimensions"], strict=True):
        assert (ref_dim["id"], ref_dim["score"], ref_dim["light"]) == (dim["id"], dim["score"], dim["light"])
        for ref_sub, sub in zip(ref_dim["subcategories"], dim["subcategories"], strict=True):
            for key in ("score", "light", "coverage", "critical_failures", "critical_unknown"):
                assert ref_sub[key] == sub[key], (sub["id"], key)


def test_dormant_cooperative_names_its_legal_failures(q2027):
    result = scoring.score(q2027, dormida()).to_dict()
    _, subs, _ = by_id(result)
    failures = [f for s in subs.values() for f in s["critical_failures"]]
    assert failures == [
        "contabilidad_formal",
        "balance_aprobado",
        "vigente_daes",
        "registro_socios",
        "junta_realizada",
        "consejo_vigente",
    ]
    assert result["overall"]["score"] < 30


def test_legal_failure_is_never_green_even_with_a_good_business(q2027):
    answers = falla_legal()
    result = scoring.score(q2027, answers).to_dict()
    dims, subs, _ = by_id(result)
    assert dims["gobernanza"]["light"] == "red"
    assert subs["situacion_legal"]["critical_failures"] == ["vigente_daes"]
    assert subs["junta_general"]["critical_failures"] == ["junta_realizada"]
    assert result["overall"]["light"] != "green"
    # the same cooperative with its legal situation in order is green
    answers.update(
        {
            "vigente_daes": True,
            "informacion_daes": "en_plazo",
            "junta_realizada": True,
            "asistentes_junta": 41,
            "memoria_anual": True,
            "consejo_vigente": True,
            "balance_aprobado": "aprobado_fuera_plazo",
            "informe_vigilancia": "informe_escrito",
        }
    )
    assert scoring.score(q2027, answers).to_dict()["overall"]["light"] == "green"


def test_private_firm_like_cooperative_is_shown_by_its_business_facts(q2027):
    result = scoring.score(q2027, empresa_privada()).to_dict()
    _, subs, questions = by_id(result)
    for qid in ("participacion_socios", "entrega_produccion_socios", "negocio_con_terceros"):
        assert questions[qid] == {"id": qid, "status": "scored", "score": 0.0}
    assert subs["servicios_socios"]["pulled_down_by"][:3] == [
        "participacion_socios",
        "entrega_produccion_socios",
        "negocio_con_terceros",
    ]
    assert subs["adhesion_control_democratico"]["critical_failures"] == ["concentracion_capital"]
    # the same firm-like business with democratic self-reported items still reads red in its business facts
    answers = empresa_privada()
    answers.update(
        {
            "un_socio_un_voto": True,
            "elecciones_abiertas": True,
            "requisitos_ingreso": "escritos_abiertos",
            "concentracion_capital": False,
            "distribucion_excedentes": "segun_operaciones",
            "aportes_equitativos": True,
        }
    )
    _, subs, _ = by_id(scoring.score(q2027, answers).to_dict())
    assert subs["servicios_socios"]["light"] == "red"


def test_mostly_dont_know_is_insufficient_data_never_red(q2027, raw2027):
    result = scoring.score(q2027, mayormente_no_sabe(raw2027)).to_dict()
    dims, subs, _ = by_id(result)
    assert all(s["light"] != "red" for s in subs.values())
    assert all(d["light"] != "red" for d in dims.values())
    unknown = [u for s in subs.values() for u in s["critical_unknown"]]
    assert unknown == [
        "contabilidad_formal",
        "balance_aprobado",
        "vigente_daes",
        "registro_socios",
        "consejo_vigente",
        "concentracion_capital",
    ]
    assert all(not s["critical_failures"] for s in subs.values())


def test_pre_cooperative_group_is_not_judged_on_what_does_not_fit_its_stage(q2027):
    relevant = scoring.relevant_questions(q2027, grupo_precooperativo())
    for qid in sorted(CRITICAL) + [
        "gerencia",
        "gerencia_mujer",
        "plan_negocios",
        "certificaciones",
        "red_cooperativas",
        "cuenta_bancaria",
        "estados_financieros",
        "auditoria_externa",
        "informe_vigilancia",
        "capital_suscrito",
    ]:
        assert not relevant[qid], qid
    for qid in (
        "fondos_grupo",
        "registros_grupo",
        "lista_integrantes",
        "asamblea_grupo",
        "directiva_elegida",
        "plan_trabajo_grupo",
        "aportes_grupo",
    ):
        assert relevant[qid], qid


def test_group_that_answers_its_own_questions_best_is_green(q2027):
    answers = grupo_precooperativo()
    answers.update(
        {
            "presupuesto": "se_elabora_y_controla",
            "resultados_ultimos_anios": "todos_excedente",
            "ahorro_reservas": "suficiente",
            "camino_formalizacion": "tramite_iniciado",
            "libro_actas": "siempre",
            "roles_definidos": "por_escrito",
            "conflicto_interes": True,
            "jovenes_en_cargos": True,
            "acciones_inclusion": "acciones_permanentes",
            "plan_trabajo_grupo": "plan_escrito",
            "seguimiento_metas": "regularmente",
            "catastro_productivo": "catastro_al_dia",
            "servicios_ofrecidos": ["comercializacion", "insumos", "asistencia_tecnica", "logistica"],
            "entrega_produccion_socios": 80,
            "compromisos_entrega": "escritos",
            "satisfaccion_socios": "consulta_formal",
            "valor_agregado": "procesado_marca",
            "contratos_compradores": "mayoria",
            "informacion_mercado": "siempre",
            "autorizaciones": "todas",
            "control_calidad": "normas_y_control",
            "inventario_trazabilidad": "registro_completo",
            "gestion_riesgos": "cubre_principales",
            "practicas_ambientales": ["conservacion_suelos", "manejo_plagas", "manejo_residuos"],
            "energia": "usa",
            "software_contable": "sistema_contable",
            "requisitos_ingreso": "escritos_abiertos",
            "distribucion_excedentes": "segun_operaciones",
            "negocios_intercooperativos": True,
        }
    )
    result = scoring.score(q2027, answers).to_dict()
    assert result["overall"] == {"score": 100.0, "light": "green", "coverage": 1.0}


# Indicator values exactly on a band edge: the edge belongs to the band that starts there.
ON_UPPER_EDGES = {  # question: (value, score on the 0-100 scale)
    "razon_corriente": (1.5, 100.0),
    "capital_trabajo_meses": (1.5, 100.0),
    "autonomia_financiera": (0.6, 100.0),
    "proporcion_capital_pagado": (0.8, 100.0),
    "margen_operacional": (0.05, 100.0),
    "dependencia_subsidios": (0.2, 50.0),
    "tasa_asistencia": (0.5, 100.0),
    "proporcion_socias": (0.4, 100.0),
    "proporcion_consejeras": (0.4, 100.0),
    "proporcion_vigilantes": (0.4, 100.0),
    "proporcion_jovenes": (0.2, 100.0),
    "renovacion_socios": (0.1, 100.0),
    "participacion_socios": (0.8, 100.0),
    "entrega_produccion_socios": (70, 100.0),
    "negocio_con_terceros": (25, 50.0),
    "principal_comprador": (40, 50.0),
}
ON_LOWER_EDGES = {
    "razon_corriente": (1.05, 50.0),
    "capital_trabajo_meses": (0.5, 50.0),
    "autonomia_financiera": (0.4, 50.0),
    "proporcion_capital_pagado": (0.5, 50.0),
    "margen_operacional": (0.0, 50.0),
    "dependencia_subsidios": (0.5, 0.0),
    "tasa_asistencia": (0.3, 50.0),
    "proporcion_socias": (0.2, 50.0),
    "proporcion_consejeras": (0.1, 50.0),
    "proporcion_vigilantes": (0.1, 50.0),
    "proporcion_jovenes": (0.1, 50.0),
    "renovacion_socios": (0.03, 50.0),
    "participacion_socios": (0.5, 50.0),
    "entrega_produccion_socios": (30, 50.0),
    "negocio_con_terceros": (50, 0.0),
    "principal_comprador": (70, 0.0),
}


@pytest.mark.parametrize("builder, edges", [(en_los_umbrales, ON_UPPER_EDGES), (en_los_umbrales_bajos, ON_LOWER_EDGES)])
def test_ratios_exactly_on_thresholds(q2027, builder, edges):
    answers = builder()
    values = {**scoring.computed_values(q2027, answers), **answers}
    _, _, questions = by_id(scoring.score(q2027, answers).to_dict())
    for qid, (value, expected_score) in edges.items():
        assert values[qid] == value, f"{qid} must hit the edge exactly, not {values[qid]!r}"
        assert questions[qid]["score"] == expected_score, qid


def test_a_subcategory_exactly_on_the_green_threshold_is_green(q2027):
    _, subs, _ = by_id(scoring.score(q2027, en_los_umbrales()).to_dict())
    assert (subs["financiamiento"]["score"], subs["financiamiento"]["light"]) == (80.0, "green")


def test_all_not_applicable_answers_leave_the_questions_out(q2027):
    result = scoring.score(q2027, todo_no_aplica()).to_dict()
    _, subs, questions = by_id(result)
    for qid in NA_FOR_COOPERATIVES:  # reserva_legal is shown: this cooperative had a surplus
        assert questions[qid]["status"] == "na", qid
    # «no aplica» takes questions out of the score, never counts as a failure
    assert all(not s["critical_failures"] and not s["critical_unknown"] for s in subs.values())
    assert subs["mercados"]["coverage"] == 1.0


# --------------------------------------------------------------------------
# Structure and rules of the 2027.1 design


def test_outline_ids_and_order(q2027):
    assert (q2027.id, q2027.version, q2027.language) == ("diagnostico-nacional", "2027.1", "es-CL")
    assert [d.id for d in q2027.dimensions] == DIMENSIONS
    assert {d.id: [s.id for s in d.subcategories] for d in q2027.dimensions} == SUBCATEGORIES
    assert all(q.help for q in q2027.questions), "every question has a help text"


def test_profile_comes_first_and_is_never_scored(q2027):
    perfil = q2027.dimensions[0]
    questions = [q for s in perfil.subcategories for q in s.questions]
    assert questions[0].id == "tipo_organizacion"
    assert [o.value for o in questions[0].options] == [COOP, GRUPO]
    assert not any(q.scored or q.critical for q in questions)
    programas = next(q for q in questions if q.id == "programas_usados")
    assert {
        "indap",
        "sercotec",
        "corfo",
        "fia",
        "prochile",
        "inia",
        "cnr",
        "daes",
        "bancoestado",
        "fosis",
        "ninguno",
    } <= {o.value for o in programas.options}


def test_critical_questions_are_the_legal_must_haves_of_a_constituted_cooperative(q2027):
    assert {q.id for q in q2027.questions if q.critical} == CRITICAL
    for q in q2027.questions:
        if q.critical:
            assert q.relevant == "not selected(tipo_organizacion, 'grupo_precooperativo')", q.id


def test_every_number_is_bounded_and_absurd_figures_are_refused(q2027):
    numbers = [q for q in q2027.questions if q.type == "number"]
    assert all(q.max is not None and q.min is not None for q in numbers)
    assert all(q.max <= 10**13 for q in numbers)
    errors = scoring.validate_answers(
        q2027,
        {
            "tipo_organizacion": COOP,
            "estados_financieros": "balance_completo",
            "ventas": 1e28,
            "activo_total": 10**28,
            "socios_total": 10**7,
        },
    )
    assert {e.question for e in errors} == {"ventas", "activo_total", "socios_total"}


def test_nothing_is_scored_twice(q2027):
    by = {q.id: q for q in q2027.questions}
    # the junta de vigilancia's review: only in control_interno
    assert "revision_vigilancia" not in {o.value for o in by["auditoria_externa"].options}
    # subsidies: only operating support, only in financiamiento
    formulas = {q.id: q.formula for q in q2027.questions if q.type == "computed"}
    assert [qid for qid, f in formulas.items() if "subsidios" in f] == ["dependencia_subsidios"]
    assert "continuidad_sin_apoyo" not in by
    # new members: only the renewal indicator
    assert [qid for qid, f in formulas.items() if "socios_nuevos_3_anios" in f] == ["renovacion_socios"]
    assert "nuevos_socios" not in by
    # water, energy and online sales have their own questions, not options elsewhere
    assert {"uso_eficiente_agua", "energia_limpia"}.isdisjoint(o.value for o in by["practicas_ambientales"].options)
    assert "capacitacion" not in {o.value for o in by["servicios_ofrecidos"].options}


# Consistency checks: one inconsistent answer set for each, on top of a consistent archetype.
BREAKS = {
    "socios_suman_total": {"socias_mujeres": 111},
    "jovenes_no_superan_socios": {"socios_menores_35": 381},
    "nuevos_no_superan_socios": {"socios_nuevos_3_anios": 400},
    "cooperativa_minimo_socios": {
        "socios_total": 3,
        "socias_mujeres": 1,
        "socios_hombres": 2,
        "socios_menores_35": 0,
        "socios_nuevos_3_anios": 0,
        "socios_organizaciones": 0,
        "asistentes_junta": 3,
        "socios_que_operaron": 3,
        "integrantes_consejo": 3,
        "mujeres_consejo": 1,
    },
    "trabajadoras_permanentes_no_superan_total": {"trabajadoras_permanentes": 86},
    "trabajadoras_temporada_no_superan_total": {"trabajadoras_temporada": 41},
    "programas_ninguno_solo": {"programas_usados": ["indap", "ninguno"]},
    "servicios_ninguno_solo": {"servicios_ofrecidos": ["ninguno", "credito"]},
    "canales_no_vende_solo": {"canales_venta": ["no_vende", "agroindustria"]},
    "practicas_ninguna_sola": {"practicas_ambientales": ["ninguna", "manejo_residuos"]},
    "certificaciones_ninguna_sola": {"certificaciones": ["organica", "ninguna"]},
    "acciones_ninguna_sola": {"acciones_comunidad": ["ninguna", "empleo_local"]},
    "activo_corriente_no_supera_total": {"activo_corriente": 18_500_000_001},
    "pasivo_corriente_no_supera_total": {"pasivo_corriente": 7_000_000_000},
    "capital_pagado_no_supera_suscrito": {"capital_pagado": 4_100_000_000},
    "excedente_no_supera_ingresos": {"excedente": 25_000_000_000},
    "ventas_sin_venta_conjunta": {"canales_venta": ["no_vende"]},
    "subsidios_inversion_no_supera_total": {"subsidios_inversion": 420_000_001},
    "asistentes_no_superan_socios": {"asistentes_junta": 381},
    "balance_aprobado_sin_junta": {"junta_realizada": False},
    "consejeras_no_superan_consejo": {"mujeres_consejo": 8},
    "vigilantes_no_superan_junta": {"mujeres_vigilancia": 4},
    "consejo_no_supera_socios": {
        "socios_total": 6,
        "socias_mujeres": 2,
        "socios_hombres": 4,
        "socios_menores_35": 1,
        "socios_nuevos_3_anios": 1,
        "asistentes_junta": 5,
        "socios_que_operaron": 6,
    },
    "presidenta_en_consejo": {"presidencia_mujer": True, "mujeres_consejo": 0},
    "operaron_no_superan_socios": {"socios_que_operaron": 400},
}
ERRORS = {
    "socios_suman_total",
    "jovenes_no_superan_socios",
    "nuevos_no_superan_socios",
    "trabajadoras_permanentes_no_superan_total",
    "trabajadoras_temporada_no_superan_total",
    "programas_ninguno_solo",
    "servicios_ninguno_solo",
    "canales_no_vende_solo",
    "practicas_ninguna_sola",
    "certificaciones_ninguna_sola",
    "acciones_ninguna_sola",
    "activo_corriente_no_supera_total",
    "pasivo_corriente_no_supera_total",
    "subsidios_inversion_no_supera_total",
    "consejeras_no_superan_consejo",
    "vigilantes_no_superan_junta",
}


def test_every_check_is_covered_here(q2027):
    assert [c.id for c in q2027.checks] == list(BREAKS)
    assert {c.id for c in q2027.checks if c.severity == "error"} == ERRORS


@pytest.mark.parametrize("check_id", list(BREAKS))
def test_each_check_catches_its_inconsistency_and_only_it(q2027, check_id):
    answers = grande_bien_gestionada()
    answers.update(BREAKS[check_id])
    assert scoring.validate_answers(q2027, answers) == []
    # «no vende» beside a channel also contradicts the sales figure this cooperative reported
    also = ["ventas_sin_venta_conjunta"] if check_id == "canales_no_vende_solo" else []
    assert [c.id for c in scoring.failed_checks(q2027, answers)] == [check_id, *also]


def test_a_check_cannot_judge_missing_data(q2027):
    answers = grande_bien_gestionada()
    answers.update({"socias_mujeres": "ns", "socios_menores_35": None, "activo_total": "ns"})
    assert scoring.failed_checks(q2027, answers) == []
    # a pre-cooperative group is not asked the JV or the capital: those checks stay silent
    assert scoring.failed_checks(q2027, {**grupo_precooperativo(), "mujeres_vigilancia": 9}) == []
