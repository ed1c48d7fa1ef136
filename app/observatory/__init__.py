"""The public Observatorio de Cooperativas: what is published, how it is computed, and its pages."""
