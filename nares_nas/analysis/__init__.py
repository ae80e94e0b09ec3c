"""The paper's analyses of the dataset as DataFrames and figures, and the fidelity study."""
