"""fcrnpipe: library of the FcRn-antagonist trial pipeline.

Pure, typed functions (data frames in, data frames out) for every stage of the workflow:
validation, derivation of analysis datasets, NCA, population PK/PD, statistics, tables,
figures and provenance. The Snakemake rule scripts in ``scripts/`` are thin adapters.
"""

__version__ = "0.1.0"
