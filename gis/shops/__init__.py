"""沿街商铺: collection and evaluation records, the integrity colour, per-area figures (issue 16)."""
