"""The one media layer: every PyAV call of vsearch lives here (probe, sample frames, cut and mux)."""
