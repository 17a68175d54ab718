"""Nonlinear mixed-effects estimation (FOCE-I / Laplacian) on numpy/scipy.

Public API::

    from fcrnpipe.nlme import read_nm_dataset, PopulationModel, ErrorModel, fit, FitOptions
    from fcrnpipe.models import make_model

    data = read_nm_dataset("nm.csv")
    pm = PopulationModel(make_model("sc1cmt_mm"), iiv=("ka", "CL", "V", "Vmax"),
                         errors={2: ErrorModel("proportional")}, blq="M3")
    result = fit(data, pm)                       # FitResult
    write_outputs(result, "out/")                # the four result files
    sims = simulate(result, design, n_rep=200, rng=np.random.default_rng(seed))
    boot = fit(resample_subjects(data, rng), pm, warm_start=result)

Modules: :mod:`~fcrnpipe.nlme.dataset` (NONMEM-style data), :mod:`~fcrnpipe.nlme.spec`
(population model, parameter packing), :mod:`~fcrnpipe.nlme.foce` (objective function),
:mod:`~fcrnpipe.nlme.estimate` (outer optimisation), :mod:`~fcrnpipe.nlme.covariance`,
:mod:`~fcrnpipe.nlme.diagnostics`, :mod:`~fcrnpipe.nlme.results` (tables and files),
:mod:`~fcrnpipe.nlme.simulate` (prediction, simulation, resampling).
"""

from fcrnpipe.nlme.dataset import NMData, read_nm_dataset, validate_nm_frame
from fcrnpipe.nlme.errormodel import ErrorModel
from fcrnpipe.nlme.estimate import FitOptions, FitResult, fit
from fcrnpipe.nlme.results import individual_table, population_table, predictions_table, summary, write_outputs
from fcrnpipe.nlme.simulate import predict_design, resample_subjects, sample_parameters, simulate
from fcrnpipe.nlme.spec import CovariateRelation, PopulationModel

__all__ = [
    "CovariateRelation",
    "ErrorModel",
    "FitOptions",
    "FitResult",
    "NMData",
    "PopulationModel",
    "fit",
    "individual_table",
    "population_table",
    "predict_design",
    "predictions_table",
    "read_nm_dataset",
    "resample_subjects",
    "sample_parameters",
    "simulate",
    "summary",
    "validate_nm_frame",
    "write_outputs",
]
