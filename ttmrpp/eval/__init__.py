"""The paper's Table-2 evaluation: metrics, protocols and benchmarks."""
