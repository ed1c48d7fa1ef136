"""Questionnaire registry: the questionnaire files served, stored by (id, version)."""
