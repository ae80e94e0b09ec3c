"""The data layer: the NARes record format, the columnar table, the synthetic stand-in, loading and importing."""
