"""Pure Plotly figure builders, one module per lesson (recorded data -> go.Figure), shared styling in common."""
