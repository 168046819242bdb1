"""Each lesson's logic: its experiments' configs, the numbers it computes from runs, and its takeaway sentences.

No streamlit and no plotly here: pages draw, figures build charts, these modules compute.
"""


def default_configs():
    """The configs the lessons train on their first load with default settings (warmed up at server start)."""
    from lab.lessons import covariate_shift, inputs, playground, saturation

    grid = inputs.grid(inputs.AXES[0], inputs.BASE.init, inputs.BASE.preprocessing, inputs.BASE.init_sigma,
                       inputs.BASE.steps, 0)
    sat = saturation.BASE
    return [*covariate_shift.configs(), *saturation.configs(sat.activation, sat.init_sigma, sat.steps, 0),
            *(c for pair in grid.values() for c in pair), *playground.run_plan(*playground.default_plan())[0]]
