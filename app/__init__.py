"""coopdiag: autodiagnóstico de cooperativas agrícolas de Chile (aplicación web)."""
