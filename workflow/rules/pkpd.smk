# Stage rules: pkpd (docs/architecture.md, the PK/PD stage; library fcrnpipe.pkpd on the fcrnpipe.nlme
# estimator): dataset -> PK candidate fits -> AIC choice -> PD fit -> bootstrap chunks; plots, VPC, regimens.

PKPD = config["pkpd"]
PKPD_ENDPOINTS = ["pk", "igg"]
PKPD_FIT_FILES = {
    "fit": "fit.json",
    "population": "population_parameters.csv",
    "individual": "individual_parameters.csv",
    "predictions": "predictions.csv",
    "summary": "fit_summary.json",
}


# the files of a PK candidate's fit (pkpd/candidates/<candidate>/), of the chosen PK fit (pkpd/pk/)
# and of the PD (or simultaneous) fit (pkpd/pd/); the last two also as named inputs pk_<key>, pd_<key>
PKPD_CANDIDATE = {key: res(f"pkpd/candidates/{{candidate}}/{name}") for key, name in PKPD_FIT_FILES.items()}
PKPD_PK = {key: res(f"pkpd/pk/{name}") for key, name in PKPD_FIT_FILES.items()}
PKPD_PD = {key: res(f"pkpd/pd/{name}") for key, name in PKPD_FIT_FILES.items()}
# the modelling dataset and its subject ids (output of pkpd_nm_dataset, named inputs of the fits)
_NM = {"dataset": res("pkpd/nm_dataset.csv"), "id_map": res("pkpd/nm_id_map.csv")}
_PK_IN = {f"pk_{key}": path for key, path in PKPD_PK.items()}
_PD_IN = {f"pd_{key}": path for key, path in PKPD_PD.items()}
PKPD_BOOT_REPLICATES = PKPD["bootstrap"]["replicates"]
PKPD_RESULTS = ("PK/PD model", "Model results")  # report category, subcategory
# library fingerprints: estimator/model edits rerun the fits; figure-style edits only the plots
PKPD_FIT_CODE = lib_code("pkpd", "nlme", "models", "frames")
PKPD_PLOT_CODE = lib_code("pkpd", "nlme", "models", "figures", "stats", "labels", "findings", "frames")
# params shared by the fits, and by the diagnostic plots of the final model
_PKPD_FIT = {"blq_method": PKPD["blq_method"], "limits": PKPD["limits"], "covariates": PKPD.get("covariates", [])}
_PKPD_PLOT = {"code": PKPD_PLOT_CODE, "arms": DOSED_ARMS, "data_cut": config["data_cut"]}


scattergather:
    pkpd_bootstrap=PKPD["bootstrap"]["chunks"],


rule pkpd_nm_dataset:
    input:
        **adam("adsl", "adex", "adpc", "adlb"),
    output:
        **_NM,
    log:
        logf("pkpd/nm_dataset.log"),
    benchmark:
        bench("pkpd/nm_dataset.tsv")
    conda:
        CONDA_ENV
    params:
        **_TRT,
        **_VISITS,
        **_DOSING,
        code=PKPD_FIT_CODE,
        analyte=config["study"]["pk_analyte"],
    script:
        "../../scripts/pkpd_nm_dataset.py"


rule pkpd_fit_pk:
    input:
        dataset=res("pkpd/nm_dataset.csv"),
    output:
        **PKPD_CANDIDATE,
    log:
        logf("pkpd/fit_pk_{candidate}.log"),
    benchmark:
        bench("pkpd/fit_pk_{candidate}.tsv")
    wildcard_constraints:
        candidate="|".join(PKPD["pk_candidates"]),
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        **_PKPD_FIT,
        code=PKPD_FIT_CODE,
        residual_error=PKPD["residual_error"]["pk"],
    script:
        "../../scripts/pkpd_fit_pk.py"


rule pkpd_select_pk:
    input:
        summaries=expand(PKPD_CANDIDATE["summary"], candidate=PKPD["pk_candidates"]),
        fits=expand(
            res("pkpd/candidates/{candidate}/{name}"),
            candidate=PKPD["pk_candidates"],
            name=[n for k, n in PKPD_FIT_FILES.items() if k != "summary"],
        ),
    output:
        **PKPD_PK,
        selection=reported("pkpd/model_selection.csv", "pkpd_model_selection", *PKPD_RESULTS),
    log:
        logf("pkpd/select_pk.log"),
    benchmark:
        bench("pkpd/select_pk.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=PKPD_FIT_CODE,
        candidates=PKPD["pk_candidates"],
    script:
        "../../scripts/pkpd_select_pk.py"


rule pkpd_fit_pd:
    input:
        **_PK_IN,
        **_NM,
    output:
        **PKPD_PD,
        individual_all=res("pkpd/individual_parameters.csv"),
        predictions_all=res("pkpd/predictions.csv"),
    log:
        logf("pkpd/fit_pd.log"),
    benchmark:
        bench("pkpd/fit_pd.tsv")
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        **_PKPD_FIT,
        code=PKPD_FIT_CODE,
        fit_mode=PKPD["fit_mode"],
        pd_model=PKPD["pd_model"],
        steroid=PKPD["steroid_suppression"],
        residual_error=PKPD["residual_error"],
    script:
        "../../scripts/pkpd_fit_pd.py"


rule pkpd_bootstrap_chunk:
    input:
        **_PK_IN,
        **_PD_IN,
        dataset=res("pkpd/nm_dataset.csv"),
    output:
        res("pkpd/bootstrap/chunk_{scatteritem}.csv"),
    log:
        logf("pkpd/bootstrap/chunk_{scatteritem}.log"),
    benchmark:
        bench("pkpd/bootstrap/chunk_{scatteritem}.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        # minutes: the chunk's share of the replicates, PK + PD refit each
        runtime=lambda wc: 15 + 10 * -(-PKPD_BOOT_REPLICATES // int(wc.scatteritem.split("-of-")[1])),
    params:
        code=PKPD_FIT_CODE,
        replicates=PKPD["bootstrap"]["replicates"],
        restarts=PKPD["bootstrap"]["restarts"],
        options={k: PKPD["bootstrap"][k] for k in ("max_evaluations", "search_range")},
        stratify_on=PKPD["bootstrap"]["stratify_on"],
        seed=config["seeds"]["bootstrap"],
    script:
        "../../scripts/pkpd_bootstrap_chunk.py"


rule pkpd_bootstrap_gather:
    input:
        **_PK_IN,
        **_PD_IN,
        chunks=gather.pkpd_bootstrap(res("pkpd/bootstrap/chunk_{scatteritem}.csv")),
        selection=res("pkpd/model_selection.csv"),
        dataset=res("pkpd/nm_dataset.csv"),
    output:
        population=reported("pkpd/population_parameters.csv", "pkpd_population_parameters", *PKPD_RESULTS),
        summary=res("pkpd/fit_summary.json"),
        bootstrap=res("pkpd/bootstrap.csv"),
    log:
        logf("pkpd/bootstrap_gather.log"),
    benchmark:
        bench("pkpd/bootstrap_gather.tsv")
    conda:
        CONDA_ENV
    params:
        code=PKPD_FIT_CODE,
        replicates=PKPD["bootstrap"]["replicates"],
        seed=config["seeds"]["bootstrap"],
        fit_mode=PKPD["fit_mode"],
        exclude_at_bound=PKPD["bootstrap"]["exclude_at_bound"],
        max_failed_share=PKPD["bootstrap"]["max_failed_share"],
        stratify_on=PKPD["bootstrap"]["stratify_on"],
    script:
        "../../scripts/pkpd_bootstrap_gather.py"


rule pkpd_vpc:
    input:
        dataset=res("pkpd/nm_dataset.csv"),
        pk_fit=PKPD_PK["fit"],
        pd_fit=PKPD_PD["fit"],
    output:
        **figure_files("pkpd/figures/vpc_{endpoint}", "pkpd_vpc", "PK/PD model"),
        table=res("pkpd/vpc_{endpoint}.csv"),
    log:
        logf("pkpd/vpc_{endpoint}.log"),
    benchmark:
        bench("pkpd/vpc_{endpoint}.tsv")
    wildcard_constraints:
        endpoint="|".join(PKPD_ENDPOINTS),
    conda:
        CONDA_ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        **_TRT,
        **_DOSING,
        code=PKPD_PLOT_CODE,
        vpc=PKPD["vpc"],
        seed=config["seeds"]["vpc"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/pkpd_vpc.py"


# the diagnostic plots of the final model: rule pkpd_plot, wildcard {name}; PKPD_PLOTS: name -> inputs, params
_GOF = {"predictions": res("pkpd/predictions.csv"), "pk_summary": PKPD_PK["summary"], "pd_summary": PKPD_PD["summary"]}
_FITS = {**_NM, "pk_fit": PKPD_PK["fit"], "pd_fit": PKPD_PD["fit"]}
PKPD_PLOTS = {
    **{f"gof_{e}": Spec(_GOF, _TRT) for e in PKPD_ENDPOINTS},
    **{f"individual_fits_{e}": Spec(_FITS, _TRT) for e in PKPD_ENDPOINTS},
    "eta_distributions": Spec(
        {
            "individual": res("pkpd/individual_parameters.csv"),
            "pk_population": PKPD_PK["population"],
            "pd_population": PKPD_PD["population"],
            "pd_summary": PKPD_PD["summary"],
        },
        {},
    ),
}


rule pkpd_plot:
    input:
        unpack(lambda wc: PKPD_PLOTS[wc.name].input),
    output:
        **figure_files("pkpd/figures/{name}", "pkpd_plot", "PK/PD model"),
    log:
        logf("pkpd/{name}.log"),
    benchmark:
        bench("pkpd/{name}.tsv")
    wildcard_constraints:
        name="|".join(PKPD_PLOTS),
    conda:
        CONDA_ENV
    params:
        **_PKPD_PLOT,
        plot=lambda wc: PKPD_PLOTS[wc.name].params,
    script:
        "../../scripts/pkpd_plot.py"


# the simulated trials' population parameters: the bootstrap replicates if any, else the covariance step
PKPD_REGIMEN_BOOTSTRAP = PKPD["regimen_simulation"]["uncertainty"] == "bootstrap" and PKPD_BOOT_REPLICATES > 0


rule pkpd_regimen_simulation:
    input:
        **({"bootstrap": res("pkpd/bootstrap.csv")} if PKPD_REGIMEN_BOOTSTRAP else {}),
        **_NM,
        predictions=res("pkpd/predictions.csv"),
        pk_fit=PKPD_PK["fit"],
        pd_fit=PKPD_PD["fit"],
    output:
        **figure_files("pkpd/figures/regimen_simulation", "pkpd_regimen_simulation", "PK/PD model"),
        table=reported("pkpd/regimen_simulation.csv", "pkpd_regimen_table", "PK/PD model", "Regimen simulation"),
        profiles=res("pkpd/regimen_profiles.csv"),
        reproduction=reported("pkpd/pd_reproduction.csv", "pkpd_reproduction", *PKPD_RESULTS),
    log:
        logf("pkpd/regimen_simulation.log"),
    benchmark:
        bench("pkpd/regimen_simulation.tsv")
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        **_DOSING,
        **_VISITS,
        code=PKPD_PLOT_CODE,
        regimens=PKPD["regimens"],
        simulation=PKPD["regimen_simulation"],
        exclude_at_bound=PKPD["bootstrap"]["exclude_at_bound"],
        seed=config["seeds"]["regimen"],
        arms=PLAIN_DOSED_ARMS,  # a placebo arm is not modelled
        data_cut=config["data_cut"],
    script:
        "../../scripts/pkpd_regimen_simulation.py"


_PKPD_FILES = """nm_dataset.csv nm_id_map.csv model_selection.csv population_parameters.csv
individual_parameters.csv predictions.csv fit_summary.json bootstrap.csv regimen_simulation.csv
regimen_profiles.csv pd_reproduction.csv"""
_PKPD_FIGURES = ["regimen_simulation", *PKPD_PLOTS, *expand("vpc_{e}", e=PKPD_ENDPOINTS)]
TARGETS["pkpd"] = [
    *expand(res("pkpd/{name}"), name=_PKPD_FILES.split()),
    *expand(res("pkpd/vpc_{endpoint}.csv"), endpoint=PKPD_ENDPOINTS),
    *expand(res("pkpd/figures/{n}.{ext}"), n=_PKPD_FIGURES, ext=["png", "svg"]),
]
