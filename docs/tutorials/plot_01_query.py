"""
Query the table
===============

Load the benchmark, look one architecture up, and read its metrics — the per-epoch ones too.
"""

# %%
# Load
# ----
# ``nares_nas.load()`` reads the imported NARes data if there is one, else the synthetic stand-in; the
# docs build asks for the stand-in, and :attr:`~nares_nas.Benchmark.synthetic` says so.
import nares_nas

bench = nares_nas.load("synthetic")
print(bench.synthetic, "-", bench.provenance)
