"""bn_core: Batch Normalization and a small MLP trainer in pure NumPy (no streamlit, no plotly).

Public API in docs/ARCHITECTURE.md ("bn_core's public API"); everything a page needs is importable from here.
"""
from .beyond import (
                   EXPERIMENT_MEASURE,
                   EXPERIMENTS,
                   IOFFE_SZEGEDY_2015,
                   MEASURES,
                   WU_HE_2018,
                   GradientShift,
                   Landscape,
                   MeasuredSeries,
                   batch_stat_spread,
                   batch_sweep_configs,
                   experiment_configs,
                   gradient_ics,
                   is_stable,
                   landscape,
                   largest_stable_lr,
                   lr_sweep_configs,
                   norm_inputs,
                   train_measured,
)
from .bias_growth import BiasGrowth, bias_growth_steps
from .data import (
                   DATASETS,
                   PREPROCESSING,
                   CsvError,
                   Dataset,
                   csv_columns,
                   dataset_from_arrays,
                   load_csv,
                   load_csv_dataset,
                   load_digits,
                   make_2d,
                   make_dataset,
                   preprocess,
                   short_text,
                   split,
)
from .gradcheck import numerical_gradient, relative_error
from .inference import (
                   OPS_BN_AS_WRITTEN,
                   OPS_BN_FOLDED_AFFINE,
                   OPS_BN_FOLDED_LINEAR,
                   fold_batchnorm,
                   fold_into_linear,
                   inference_cost,
                   population_statistics,
                   set_running_statistics,
)
from .init import INITS, init_weight, truncated_normal
from .layers import (
                   ACTIVATIONS,
                   LEAKY_SLOPE,
                   Activation,
                   BackwardTerms,
                   BatchNorm1d,
                   LayerNorm1d,
                   Linear,
                   activation_derivative,
                   activation_forward,
                   batchnorm_backward,
                   batchnorm_backward_ignoring_stats,
                   batchnorm_backward_steps,
                   batchnorm_backward_terms,
                   batchnorm_forward,
                   sigmoid,
                   softmax_cross_entropy,
)
from .model import BN_POSITIONS, MLP, SGD
from .norms import NORMS
from .probe import PROBE_SIZE
from .record import DIVERGENCE_REASONS, Divergence, RunRecord
from .stats import (
                   HIST_EDGES,
                   PERCENTILES,
                   SATURATION_SHARE,
                   SIGMOID_SATURATION_X,
                   TANH_SATURATION_X,
                   low_gradient_mask,
)
from .train import ConfigError, TrainConfig, build_model, check_config, load_data, train, train_steps

__all__ = [
    "CsvError", "Dataset", "DATASETS", "PREPROCESSING", "csv_columns", "dataset_from_arrays", "load_csv",
    "load_csv_dataset", "load_digits", "make_2d", "make_dataset", "preprocess", "short_text", "split",
    "OPS_BN_AS_WRITTEN", "OPS_BN_FOLDED_AFFINE", "OPS_BN_FOLDED_LINEAR", "fold_batchnorm", "fold_into_linear",
    "inference_cost", "population_statistics", "set_running_statistics",
    "INITS", "init_weight", "truncated_normal",
    "ACTIVATIONS", "LEAKY_SLOPE", "Activation", "BatchNorm1d", "LayerNorm1d", "Linear", "activation_derivative",
    "activation_forward",
    "BackwardTerms", "batchnorm_backward", "batchnorm_backward_ignoring_stats", "batchnorm_backward_steps",
    "batchnorm_backward_terms", "batchnorm_forward", "sigmoid", "softmax_cross_entropy",
    "BN_POSITIONS", "MLP", "SGD", "NORMS",
    "PROBE_SIZE", "DIVERGENCE_REASONS", "Divergence", "RunRecord",
    "HIST_EDGES", "PERCENTILES", "SATURATION_SHARE", "SIGMOID_SATURATION_X", "TANH_SATURATION_X", "low_gradient_mask",
    "ConfigError", "TrainConfig", "build_model", "check_config", "load_data", "train", "train_steps",
    "BiasGrowth", "bias_growth_steps", "numerical_gradient", "relative_error",
    "EXPERIMENT_MEASURE", "EXPERIMENTS", "IOFFE_SZEGEDY_2015", "MEASURES", "WU_HE_2018", "GradientShift", "Landscape",
    "MeasuredSeries", "batch_stat_spread", "batch_sweep_configs", "experiment_configs", "gradient_ics", "is_stable",
    "landscape", "largest_stable_lr", "lr_sweep_configs", "norm_inputs", "train_measured",
]
