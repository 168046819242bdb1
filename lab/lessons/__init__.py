"""Each lesson's logic: its experiments' configs, the numbers it computes from runs, and its takeaway sentences.

No streamlit and no plotly here: pages draw, figures build charts, these modules compute.
"""
