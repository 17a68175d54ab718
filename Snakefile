# FcRn-antagonist trial pipeline: raw SDTM-like exports -> validation -> ADaM -> NCA ->
# population PK/PD -> endpoint statistics -> tables, figures and the Snakemake report.
# Wiring only: the logic lives in the fcrnpipe library (workflow/fcrnpipe), called from the
# thin rule scripts in scripts/.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/derive.smk"
include: "workflow/rules/pk.smk"
include: "workflow/rules/pkpd.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/provenance.smk"


rule all:
    default_target: True
    input:
        [path for stage in TARGETS.values() for path in stage],
